"""A program becomes a LoyaltyClass and a card a LoyaltyObject, field by field."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loyalty.domain.cards import CardRef
from loyalty.services.cards import card_deactivate
from tests import factories
from wallet.google import payloads
from wallet.google.config import config_get

from .fake_google import ISSUER_ID, SITE_URL

pytestmark = pytest.mark.django_db
ID_PATTERN = re.compile(rf"^{ISSUER_ID}\.[A-Za-z0-9._-]+$")


def _translations(localized: dict) -> dict:
    values = {localized["defaultValue"]["language"]: localized["defaultValue"]["value"]}
    values.update({entry["language"]: entry["value"] for entry in localized["translatedValues"]})
    return values


def test_class_payload_of_a_program(google_wallet, program):
    # given a merchant with a website and a program with a privacy page
    program.merchant.website = "https://cafe-alpha.example.com"
    program.merchant.save()
    program.privacy_url = "https://cafe-alpha.example.com/privacy"
    program.background_color = "#AA3300"
    program.save()
    config = config_get()

    # when
    payload = payloads.class_payload(program, config)

    # then
    assert payload["id"] == f"{ISSUER_ID}.loyalty-program-{program.pk}"
    assert ID_PATTERN.match(payload["id"])
    assert payload["issuerName"] == "Café Alpha"
    assert payload["programName"] == "Coffee Card"
    assert payload["hexBackgroundColor"] == "#AA3300"
    assert payload["reviewStatus"] == "UNDER_REVIEW"
    assert payload["programLogo"]["sourceUri"]["uri"] == f"{SITE_URL}/api/v1/loyalty/passes/google/logo.png"
    assert payload["linksModuleData"]["uris"][0]["uri"] == "https://cafe-alpha.example.com"
    assert payload["linksModuleData"]["uris"][1]["uri"] == "https://cafe-alpha.example.com/privacy"
    modules = {module["id"]: module for module in payload["textModulesData"]}
    assert modules["reward"]["body"] == "10 stamps: Free coffee"
    assert modules["how-to-earn"]["body"] == (
        "Show this card at the till: one stamp per visit.\n10 points for every euro you spend."
    )


def test_program_name_is_localized_in_every_site_language(google_wallet, program):
    payload = payloads.class_payload(program, config_get())

    assert _translations(payload["localizedProgramName"]) == {
        "en": "Coffee Card – loyalty card",
        "fr": "Coffee Card – carte de fidélité",
        "de": "Coffee Card – Treuekarte",
        "lb": "Coffee Card – Treiekaart",
    }
    assert payload["localizedProgramName"]["defaultValue"]["language"] == "en"
    how_to_earn = next(module for module in payload["textModulesData"] if module["id"] == "how-to-earn")
    assert _translations(how_to_earn["localizedHeader"])["fr"] == "Comment gagner"
    assert _translations(how_to_earn["localizedBody"])["de"] == (
        "Zeigen Sie diese Karte an der Kasse: ein Stempel pro Besuch.\n10 Punkte für jeden ausgegebenen Euro."
    )


def test_uploaded_logo_is_an_absolute_url_and_points_programs_list_their_rewards(
    google_wallet, merchant, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    program = factories.make_program(merchant, loyalty_type="points")
    factories.make_reward(program, "Croissant", 100)
    factories.make_reward(program, "Cake", 250, is_active=False)
    program.logo = SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    program.save()

    payload = payloads.class_payload(program, config_get())

    assert re.match(rf"^{SITE_URL}/media/program-logos/logo[^/]*\.png$", payload["programLogo"]["sourceUri"]["uri"])
    reward = next(module for module in payload["textModulesData"] if module["id"] == "reward")
    assert reward["body"] == "100 points: Croissant"
    assert "linksModuleData" not in payload


def test_object_payload_of_a_hybrid_card_puts_stamps_first_and_points_second(google_wallet, card):
    card.stamp_count = 7
    card.points_balance = 120
    card.save()

    payload = payloads.object_payload(card, config_get())

    assert payload == {
        "id": f"{ISSUER_ID}.loyalty-card-{card.pk}",
        "classId": f"{ISSUER_ID}.loyalty-program-{card.program_id}",
        "state": "ACTIVE",
        "accountId": card.card_number,
        "accountName": card.customer.full_name,
        "loyaltyPoints": {"label": "Stamps", "balance": {"string": "7/10"}},
        "secondaryLoyaltyPoints": {"label": "Points", "balance": {"int": 120}},
        "barcode": {"type": "QR_CODE", "value": card.qr_code_data, "alternateText": card.card_number},
    }


def test_stamps_only_and_points_only_cards_have_one_balance(google_wallet, store, other_store, other_program):
    stamps_card = factories.make_card(other_store)  # other_program is a stamps program
    points_program_merchant = factories.make_merchant()
    points_store = factories.make_store(points_program_merchant)
    factories.make_program(points_program_merchant, loyalty_type="points")
    points_card = factories.make_card(points_store)
    points_card.points_balance = 35
    points_card.save()

    stamps_payload = payloads.object_payload(stamps_card, config_get())
    points_payload = payloads.object_payload(points_card, config_get())

    assert stamps_payload["loyaltyPoints"] == {"label": "Stamps", "balance": {"string": "0/10"}}
    assert "secondaryLoyaltyPoints" not in stamps_payload
    assert points_payload["loyaltyPoints"] == {"label": "Points", "balance": {"int": 35}}
    assert "secondaryLoyaltyPoints" not in points_payload


def test_balance_labels_follow_the_customer_language(google_wallet, store, program):
    card = factories.make_card(store, language="fr")

    payload = payloads.object_payload(card, config_get())

    assert payload["loyaltyPoints"]["label"] == "Tampons"
    assert payload["secondaryLoyaltyPoints"]["label"] == "Points"


def test_a_deactivated_card_is_inactive(google_wallet, card, owner):
    card_deactivate(actor=owner, card_ref=CardRef(card_id=card.pk), reason="lost")
    card.refresh_from_db()

    assert payloads.object_payload(card, config_get())["state"] == "INACTIVE"


def test_the_id_prefix_is_reduced_to_the_characters_google_allows(google_wallet, settings, card):
    settings.LOYALTY_GOOGLE_ID_PREFIX = "staging site/1"

    payload = payloads.object_payload(card, config_get())

    assert payload["id"] == f"{ISSUER_ID}.staging-site-1-card-{card.pk}"
    assert ID_PATTERN.match(payload["classId"])
