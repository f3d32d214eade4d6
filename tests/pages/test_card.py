"""The customer's card page."""

import re
from datetime import timedelta

import pytest
import qrcode
from django.utils import timezone
from qrcode.image.svg import SvgPathImage

from loyalty.domain.cards import CardRef
from loyalty.services.cards import card_deactivate
from loyalty.services.points import points_adjust, points_earn
from loyalty.services.stamps import stamp_add
from tests import factories
from tests.pages.conftest import LANGUAGES, prefixed

STAMPS_HEADING = {"en": "Stamps", "fr": "Tampons", "de": "Stempel", "lb": "Stempelen"}
CREATED = {
    "en": "Your card was created.",
    "fr": "Votre carte a été créée.",
    "de": "Ihre Karte wurde angelegt.",
    "lb": "Är Kaart gouf ugeluecht.",
}


def card_url(card, language="en"):
    return prefixed(language, f"/card/{card.public_token}/")


def svg_path(data: str) -> str:
    svg = qrcode.make(data, image_factory=SvgPathImage, border=4).to_string(encoding="unicode")
    return re.search(r'<path d="([^"]+)"', svg).group(1)


@pytest.mark.parametrize("language", LANGUAGES)
def test_card_page_in_each_language(client, card, language):
    response = client.get(card_url(card, language))

    assert response.status_code == 200
    body = response.content.decode()
    assert f'<html lang="{language}"' in body
    assert f">{STAMPS_HEADING[language]}</h2>" in body
    assert CREATED[language] in body
    assert '<span class="count">0 / 10</span>' in body
    assert body.count('<li class="empty">') == 10
    assert card.program.name in body


def test_the_qr_code_is_inline_svg_of_the_cards_qr_data(client, card):
    body = client.get(card_url(card)).content.decode()

    assert re.search(r'<svg class="qr" role="img" aria-label="QR code of your card', body)
    # The page draws exactly the QR code of the card's scanner data (and never prints that data as text).
    assert f'd="{svg_path(card.qr_code_data)}"' in body
    assert card.qr_code_data not in body
    assert "<img" not in body.split('<div class="qr-box">')[1].split("</div>")[0]


def test_card_number_is_shown_in_groups_and_personal_data_is_not(client, card):
    body = client.get(card_url(card)).content.decode()

    number = card.card_number
    assert f"{number[:4]} {number[4:8]} {number[8:]}" in body
    assert card.customer.email not in body
    assert card.customer.full_name not in body


def test_the_page_is_never_cached(client, card):
    response = client.get(card_url(card))

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_stamps_fill_the_row(client, card, store):
    actor = factories.till_actor(store)
    start = timezone.now() - timedelta(hours=3)
    for number in range(3):
        stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=start + timedelta(minutes=20 * number))

    body = client.get(card_url(card, "fr")).content.decode()

    assert '<span class="count">3 / 10</span>' in body
    assert body.count('<li class="filled">') == 3 and body.count('<li class="empty">') == 7
    assert "Encore 7 tampons avant : Free coffee" in body
    assert "Vous avez obtenu 1 tampon." in body


def test_a_full_card_says_the_reward_is_ready(client, store, merchant):
    program = factories.make_program(merchant, loyalty_type="stamps", stamps_target=2, cooldown_minutes=0)
    card = factories.make_card(store)
    actor = factories.till_actor(store)
    for _ in range(2):
        stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk))

    body = client.get(card_url(card, "de")).content.decode()

    assert '<span class="count">2 / 2</span>' in body
    assert "Ihre Prämie ist bereit: Free coffee." in body
    assert program.name in body
    assert "Punkte</h2>" not in body  # a stamps-only program has no points section


def test_points_balance_and_the_rewards_they_can_afford(client, card, store, program):
    factories.make_reward(program, "Croissant", 100)
    factories.make_reward(program, "Breakfast for two", 900)
    points_earn(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), purchase_amount_cents=1250)

    body = client.get(card_url(card, "fr")).content.decode()

    assert "<strong>125</strong> points" in body
    affordable = body.split('class="rewards affordable"')[1].split("</ul>")[0]
    assert "Croissant" in affordable and "Breakfast for two" not in affordable
    assert "Vous avez gagné 125 points." in body


def test_recent_activity_shows_the_last_ten_in_plain_words(client, card, store):
    owner = factories.owner_actor(store)
    for number in range(12):
        points_adjust(actor=owner, card_ref=CardRef(card_id=card.pk), points_delta=number + 1, reason="welcome")

    body = client.get(card_url(card, "lb")).content.decode()

    activity = body.split('class="activity-list"')[1].split("</ol>")[0]
    assert activity.count("<li>") == 10
    assert "D&#x27;Geschäft huet Ärer Kaart 12 Punkten derbäigesat." in activity  # newest first
    assert "Är Kaart gouf ugeluecht." not in activity  # the oldest rows fall off
    assert "welcome" not in activity  # staff notes stay in the back office


def test_a_deactivated_card_says_so(client, card, store):
    card_deactivate(actor=factories.owner_actor(store), card_ref=CardRef(card_id=card.pk), reason="lost")

    body = client.get(card_url(card, "fr")).content.decode()

    assert "Cette carte est désactivée." in body
    assert "Votre carte a été désactivée." in body


def test_wallet_buttons_are_hidden_when_no_wallet_is_configured(client, card):
    body = client.get(card_url(card)).content.decode()

    assert "wallet-badge" not in body


def test_wallet_buttons_appear_for_the_configured_wallets_only(client, card, monkeypatch):
    import wallet.services

    monkeypatch.setattr(wallet.services, "wallet_links", lambda card: {"google_save_url": "https://pay.example/save/x"})

    body = client.get(card_url(card, "de")).content.decode()

    assert 'class="wallet-badge google" href="https://pay.example/save/x"' in body
    assert "Zu Google Wallet hinzufügen" in body
    assert "wallet-badge apple" not in body


def test_a_failing_wallet_does_not_take_the_card_page_down(client, card, monkeypatch):
    import wallet.services

    def broken(card):
        raise RuntimeError("certificate missing")

    monkeypatch.setattr(wallet.services, "wallet_links", broken)

    response = client.get(card_url(card))

    assert response.status_code == 200
    assert "wallet-badge" not in response.content.decode()


@pytest.mark.parametrize("language, text", [("en", "Page not found"), ("de", "Seite nicht gefunden")])
def test_unknown_token_is_a_localized_404(client, card, language, text):
    response = client.get(prefixed(language, "/card/not-a-real-token/"))

    assert response.status_code == 404
    body = response.content.decode()
    assert text in body
    assert card.program.name not in body


def test_the_card_number_or_qr_data_do_not_open_the_card_page(client, card):
    for identifier in (card.card_number, card.qr_code_data):
        assert client.get(f"/card/{identifier}/").status_code == 404


def test_a_card_of_a_deactivated_merchant_is_not_found(client, card, merchant):
    merchant.is_active = False
    merchant.save()

    assert client.get(card_url(card)).status_code == 404
