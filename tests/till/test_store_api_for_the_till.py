"""What the till needs from the store API: the new card's link at enrollment, the consent, search by phone."""

import pytest

from loyalty.models import Customer
from tests import factories
from tests.api.conftest import client_for

STORE = "/api/v1/store/loyalty/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def till(store, program):
    return client_for(factories.make_user("staff", store.merchant, stores=[store]), store)


@pytest.mark.django_db
def test_enrolling_at_the_counter_answers_the_card_page_link(till, client, settings):
    response = till.post(STORE + "cards/enroll", {"email": "walk.in@example.com", "language": "fr"}, format="json")

    assert response.status_code == 201
    body = response.json()
    card_url = body["card_url"]
    assert card_url.startswith(settings.SITE_URL + "/fr/card/")
    assert client.get(card_url.removeprefix(settings.SITE_URL)).status_code == 200  # the customer's own page
    assert "qr_code_data" not in body and body["card_number"]


@pytest.mark.django_db
def test_marketing_consent_ticked_at_the_counter_is_recorded(till):
    ticked = till.post(STORE + "cards/enroll", {"email": "yes@example.com", "marketing_consent": True}, format="json")
    unticked = till.post(STORE + "cards/enroll", {"email": "no@example.com"}, format="json")

    assert ticked.status_code == unticked.status_code == 201
    yes, no = Customer.objects.get(email="yes@example.com"), Customer.objects.get(email="no@example.com")
    assert yes.marketing_consent and yes.marketing_consent_at is not None
    assert not no.marketing_consent and no.marketing_consent_at is None


@pytest.mark.django_db
def test_search_finds_a_customer_by_phone(till, store):
    card = factories.make_card(store, email="phone.only@example.com", phone="+352 621 555 123")
    factories.make_card(store, email="someone.else@example.com", phone="+352 691 000 000")

    found = till.get(STORE + "cards", {"search": "621 555"}).json()

    assert [result["id"] for result in found["results"]] == [card.pk]
