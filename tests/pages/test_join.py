"""The join page: what a customer sees and what happens when they sign up."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, MerchantSettings, TransactionType
from tests import factories
from tests.pages.conftest import LANGUAGES, join_data, prefixed

HEADINGS = {
    "en": "Get your loyalty card",
    "fr": "Obtenez votre carte de fidélité",
    "de": "Holen Sie sich Ihre Treuekarte",
    "lb": "Kritt Är Treiekaart",
}
SUBMIT = {"en": "Get my card", "fr": "Obtenir ma carte", "de": "Meine Karte holen", "lb": "Meng Kaart kréien"}
STAMPS_TEXT = {
    "en": "Collect 10 stamps and get a reward:",
    "fr": "Collectionnez 10 tampons et recevez une récompense :",
    "de": "Sammeln Sie 10 Stempel und erhalten Sie eine Prämie:",
    "lb": "Sammelt 10 Stempelen a kritt eng Belounung:",
}
LINK_SENT = {"en": "Check your e-mail", "fr": "Consultez vos e-mails", "de": "Sehen Sie in Ihren E-Mails nach",
             "lb": "Kuckt an Är E-Mailen"}


@pytest.fixture
def branded_program(program):
    program.background_color = "#F4E04D"  # light yellow: needs dark text
    program.text_color = "#FFFFFF"
    program.terms_text = "One stamp per hot drink."
    program.privacy_url = "https://cafe.example.com/privacy"
    program.save()
    return program


def join_url(store, language="en"):
    return prefixed(language, f"/join/{store.code}/")


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


# --- GET ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_join_page_shows_branding_offer_and_form_in_each_language(client, store, branded_program, reward, language):
    response = client.get(join_url(store, language))

    assert response.status_code == 200
    assert html_lang(response) == language
    assert response["Content-Language"] == language
    body = response.content.decode()
    assert HEADINGS[language] in body
    assert SUBMIT[language] in body
    assert STAMPS_TEXT[language] in body
    assert branded_program.name in body and store.name in body
    assert "Free coffee" in body  # the reward text
    assert "Croissant" in body  # the rewards catalog
    assert "One stamp per hot drink." in body and "https://cafe.example.com/privacy" in body
    # White text on light yellow would be unreadable: the page picks black.
    assert "--brand: #F4E04D; --on-brand: #000000;" in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_every_form_field_has_a_label_and_the_marketing_box_is_unticked(client, store, program):
    body = client.get(join_url(store)).content.decode()

    for field in ("email", "full_name", "phone", "preferred_language", "accept_terms", "marketing_consent"):
        assert f'<label for="id_{field}">' in body
        assert f'id="id_{field}"' in body
    marketing = re.search(r"<input[^>]*id=\"id_marketing_consent\"[^>]*>", body).group(0)
    assert "checked" not in marketing
    # The honeypot is out of sight and out of the tab order.
    assert '<div class="trap" aria-hidden="true">' in body
    assert re.search(r'<input[^>]*name="remarks"[^>]*tabindex="-1"', body)


def test_the_language_field_starts_on_the_page_language(client, store, program):
    body = client.get(join_url(store, "de")).content.decode()

    assert re.search(r'<option value="de" selected>', body)


def test_unknown_store_is_a_localized_404_that_names_nothing(client, store, program):
    response = client.get("/fr/join/no-such-store/")

    assert response.status_code == 404
    body = response.content.decode()
    assert html_lang(response) == "fr"
    assert "Page introuvable" in body
    assert program.name not in body and store.merchant.name not in body
    assert "Traceback" not in body


def test_closed_self_enrollment_shows_a_branded_page_without_a_form(client, store, program):
    MerchantSettings.objects.create(merchant=store.merchant, self_enrollment_open=False)

    response = client.get(join_url(store, "fr"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "L'inscription en ligne est fermée pour le moment." in body
    assert program.name in body
    assert 'name="email"' not in body


def test_a_post_while_enrollment_is_closed_creates_nothing(client, store, program):
    MerchantSettings.objects.create(merchant=store.merchant, self_enrollment_open=False)

    response = client.post(join_url(store), join_data())

    assert response.status_code == 200
    assert "Signing up online is closed for now." in response.content.decode()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("what", ["store", "program", "merchant", "no program"])
def test_inactive_store_merchant_or_program_shows_unavailable(client, merchant, store, what):
    if what != "no program":
        program = factories.make_program(merchant)
    target = {"store": store, "merchant": merchant}.get(what) or (program if what == "program" else None)
    if target is not None:
        target.is_active = False
        target.save()

    get = client.get(join_url(store, "de"))
    post = client.post(join_url(store, "de"), join_data(preferred_language="de"))

    for response in (get, post):
        assert response.status_code == 200
        assert "Dieses Treueprogramm ist derzeit nicht verfügbar." in response.content.decode()
    assert not Customer.objects.exists()


# --- POST: a new customer ----------------------------------------------------------------------


def test_new_customer_lands_on_their_card_page_in_the_chosen_language(
    client, store, program, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            join_url(store), join_data(phone="+352 621 123 456"), HTTP_USER_AGENT="Phone/1.0", REMOTE_ADDR="203.0.113.7"
        )

    customer = Customer.objects.get(email="lea.muller@example.com")
    card = LoyaltyCard.objects.get(customer=customer)
    assert response.status_code == 302
    assert response["Location"] == f"/fr/card/{card.public_token}/"
    assert response.cookies["django_language"].value == "fr"
    assert (customer.full_name, customer.phone, customer.preferred_language) == ("Léa Muller", "+352 621 123 456", "fr")
    assert customer.terms_accepted_at is not None
    assert customer.marketing_consent is False and customer.marketing_consent_at is None
    assert card.enrolled_store == store
    enrolled = LoyaltyTransaction.objects.get(card=card)
    assert enrolled.type == TransactionType.CARD_ENROLLED
    assert (enrolled.ip_address, enrolled.user_agent) == ("203.0.113.7", "Phone/1.0")
    assert mail.outbox == []


def test_marketing_consent_is_recorded_with_its_time(client, store, program):
    client.post(join_url(store), join_data(marketing_consent="on"))

    customer = Customer.objects.get()
    assert customer.marketing_consent is True
    assert customer.marketing_consent_at is not None


# --- POST: errors ----------------------------------------------------------------------------------


def test_field_errors_come_back_in_the_chosen_language_with_the_values_kept(client, store, program):
    response = client.post(
        join_url(store),  # an English page...
        join_data(email="anna.weber@example", full_name="", accept_terms=None, preferred_language="de", phone="12ab"),
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert html_lang(response) == "de"  # ...answered in the language picked on the form
    assert "Bitte korrigieren Sie die unten markierten Felder." in body
    assert "Geben Sie eine gültige E-Mail-Adresse ein." in body
    assert "Bitte füllen Sie dieses Feld aus." in body
    assert "Bitte akzeptieren Sie die Bedingungen, um Ihre Karte zu erhalten." in body
    assert "Geben Sie eine Telefonnummer nur mit Ziffern ein" in body
    assert 'value="anna.weber@example"' in body and 'value="12ab"' in body
    assert re.search(r'<input[^>]*name="full_name"[^>]*aria-invalid="true"', body)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "language, message",
    [
        ("en", "Please accept the terms to get your card."),
        ("fr", "Veuillez accepter les conditions pour obtenir votre carte."),
        ("lb", "Akzeptéiert w.e.g. d&#x27;Konditiounen, fir Är Kaart ze kréien."),
    ],
)
def test_terms_must_be_accepted(client, store, program, language, message):
    response = client.post(join_url(store, language), join_data(accept_terms=None, preferred_language=language))

    assert message in response.content.decode()
    assert not Customer.objects.exists()


def test_an_unknown_language_is_a_field_error_not_a_crash(client, store, program):
    response = client.post(join_url(store), join_data(preferred_language="xx"))

    assert response.status_code == 200
    assert "Choose one of the languages offered." in response.content.decode()
    assert not Customer.objects.exists()


def test_the_form_is_csrf_protected(store, program):
    client = Client(enforce_csrf_checks=True)

    response = client.post(join_url(store), join_data())

    assert response.status_code == 403
    assert not Customer.objects.exists()


# --- POST: an e-mail that already has a card ------------------------------------------------------------


def test_existing_email_gets_the_link_by_email_and_never_sees_the_card(
    client, store, program, django_capture_on_commit_callbacks
):
    card = factories.make_card(store, email="Lea.Muller@example.com", language="de")

    with django_capture_on_commit_callbacks(execute=True):  # the e-mail leaves after the commit
        response = client.post(
            join_url(store, "fr"), join_data(email="lea.muller@EXAMPLE.com", full_name="Someone Else")
        )

    assert response.status_code == 200
    body = response.content.decode()
    assert LINK_SENT["fr"] in body
    for secret in (card.public_token, card.qr_code_data, card.card_number, card.customer.full_name):
        assert secret not in body
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Lea.Muller@example.com"]
    # The e-mail speaks the customer's stored language, not the visitor's.
    assert f"http://127.0.0.1:8000/de/card/{card.public_token}/" in message.body
    assert "Hallo" in message.body
    assert Customer.objects.count() == 1
    assert LoyaltyCard.objects.count() == 1
    card.customer.refresh_from_db()
    assert card.customer.full_name != "Someone Else"


def test_the_link_is_not_mailed_again_within_ten_minutes(client, store, program, django_capture_on_commit_callbacks):
    card = factories.make_card(store, email="lea.muller@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(join_url(store), join_data())
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(join_url(store), join_data())

    def without_per_response_values(response):  # the CSRF token and the Content-Security-Policy nonce
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return re.sub(r'nonce="[^"]+"', "", page)

    # the page does not tell that nothing was sent
    assert without_per_response_values(first) == without_per_response_values(second)
    assert len(mail.outbox) == 1

    # Once the ten minutes are over (the window is kept on the card, not in a cache), the link goes again.
    LoyaltyCard.objects.filter(pk=card.pk).update(card_link_sent_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        third = client.post(join_url(store), join_data())
    assert without_per_response_values(third) == without_per_response_values(first)
    assert len(mail.outbox) == 2


def test_the_join_page_and_the_public_api_share_the_ten_minutes(
    client, store, program, django_capture_on_commit_callbacks
):
    card = factories.make_card(store, email="lea.muller@example.com")
    api_body = {"email": "lea.muller@example.com", "full_name": "Léa", "accept_terms": True}

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(join_url(store), join_data())
    with django_capture_on_commit_callbacks(execute=True):
        api = client.post(f"/api/v1/loyalty/enroll/{store.code}", api_body, content_type="application/json")

    assert (page.status_code, api.status_code) == (200, 202)
    assert [message.to for message in mail.outbox] == [[card.customer.email]]


def test_a_known_customer_without_this_card_gets_it_by_email(
    client, store, program, django_capture_on_commit_callbacks
):
    """A customer the shop created without a card: the new card goes to their mailbox, not to this browser."""
    Customer.objects.create(
        merchant=store.merchant, email="lea.muller@example.com", full_name="Léa", preferred_language="lb"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(store), join_data())

    card = LoyaltyCard.objects.get(customer__email="lea.muller@example.com")
    assert response.status_code == 200
    assert card.public_token not in response.content.decode()
    assert len(mail.outbox) == 1
    assert f"/lb/card/{card.public_token}/" in mail.outbox[0].body


def test_the_same_email_at_another_merchant_is_a_new_customer(
    client, store, program, other_store, other_program, django_capture_on_commit_callbacks
):
    factories.make_card(other_store, email="lea.muller@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(store), join_data())

    assert response.status_code == 302
    assert Customer.objects.filter(email="lea.muller@example.com").count() == 2
    assert mail.outbox == []


# --- Bots and floods ----------------------------------------------------------------------------


def test_honeypot_submissions_look_fine_but_create_nothing(client, store, program, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(store), join_data(remarks="http://spam.example"))

    assert response.status_code == 200
    assert LINK_SENT["fr"] in response.content.decode()
    assert not Customer.objects.exists()
    assert mail.outbox == []


def test_signups_are_throttled_per_ip(client, store, program, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "enroll": "3/hour"},
    }
    for number in range(3):
        data = join_data(email=f"person{number}@example.com")
        response = client.post(join_url(store), data, REMOTE_ADDR="198.51.100.1")
        assert response.status_code == 302

    blocked = client.post(join_url(store, "fr"), join_data(email="person9@example.com"), REMOTE_ADDR="198.51.100.1")
    other_ip = client.post(join_url(store), join_data(email="person10@example.com"), REMOTE_ADDR="198.51.100.2")
    still_readable = client.get(join_url(store, "fr"), REMOTE_ADDR="198.51.100.1")

    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= 3600
    assert "Trop de tentatives" in blocked.content.decode()
    assert not Customer.objects.filter(email="person9@example.com").exists()
    assert other_ip.status_code == 302
    assert still_readable.status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled_and_recorded(client, store, program, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "enroll": "1/min"},
    }
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    first = client.post(join_url(store), join_data(email="a@example.com"), HTTP_X_FORWARDED_FOR="192.0.2.10", **proxy)
    second = client.post(join_url(store), join_data(email="b@example.com"), HTTP_X_FORWARDED_FOR="192.0.2.11", **proxy)
    third = client.post(join_url(store), join_data(email="c@example.com"), HTTP_X_FORWARDED_FOR="192.0.2.10", **proxy)

    assert (first.status_code, second.status_code, third.status_code) == (302, 302, 429)
    enrolled = LoyaltyTransaction.objects.get(card__customer__email="a@example.com")
    assert enrolled.ip_address == "192.0.2.10"


def test_the_birthday_is_optional_and_stored_as_day_and_month(client, store, program):
    response = client.post(join_url(store), join_data(birthday_day="29", birthday_month="2"))
    assert response.status_code == 302
    customer = Customer.objects.get(email="lea.muller@example.com")
    assert (customer.birthday_day, customer.birthday_month) == (29, 2)

    client.post(join_url(store), join_data(email="no.birthday@example.com"))
    customer = Customer.objects.get(email="no.birthday@example.com")
    assert (customer.birthday_day, customer.birthday_month) == (None, None)


def test_a_birthday_that_does_not_exist_is_refused_in_the_page_language(client, store, program):
    response = client.post(
        join_url(store, "de"), join_data(birthday_day="31", birthday_month="4", preferred_language="de")
    )
    assert response.status_code == 200
    assert "Diesen Tag gibt es in diesem Monat nicht." in response.content.decode()
    assert not Customer.objects.exists()
    body = client.get(join_url(store, "fr")).content.decode()
    assert '<label for="id_birthday_month">Anniversaire : mois (facultatif)</label>' in body
    assert ">avril</option>" in body
