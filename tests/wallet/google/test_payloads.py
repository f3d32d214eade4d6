"""A program becomes a LoyaltyClass and a card a LoyaltyObject, field by field."""

import io
import math
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

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


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Coffee Card", "Coffee Card"),
        ("  Coffee   Card ", "Coffee Card"),
        ("Twenty characters ok", "Twenty characters ok"),  # exactly 20: whole
        ("Café Alpha Coffee Loyalty Club", "Café Alpha Coffee…"),  # cut at a word, never inside one
        ("Nineteen chars here and more", "Nineteen chars here…"),  # the 20th character was a space
        ("Bäckerei Müller Treuekarte", "Bäckerei Müller…"),
        ("Café & Bar – Loyalty Programme", "Café & Bar…"),  # no dangling dash before the "…"
        ("Supercalifragilisticexpialidocious", "Supercalifragilisti…"),  # one long word: cut, still 20
    ],
)
def test_the_program_name_google_shows_is_the_name_alone_within_20_characters(google_wallet, program, name, shown):
    program.name = name

    payload = payloads.class_payload(program, config_get())

    assert payload["programName"] == shown and len(shown) <= 20
    # The merchant's words are in no particular language: no per-language name with our " – loyalty card" suffix.
    assert "localizedProgramName" not in payload


def test_texts_of_the_class_are_localized_in_every_site_language(google_wallet, program):
    payload = payloads.class_payload(program, config_get())

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

    assert re.match(
        rf"^{SITE_URL}/api/v1/loyalty/passes/google/programs/{program.pk}/logo-[0-9a-f]{{16}}\.png$",
        payload["programLogo"]["sourceUri"]["uri"],
    )
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


def _upload_logo(program, size, colour=(200, 30, 30), name="logo.png"):
    upload = io.BytesIO()
    Image.new("RGB", size, colour).save(upload, format="PNG")
    program.logo = SimpleUploadedFile(name, upload.getvalue(), content_type="image/png")
    program.save()


def test_an_uploaded_logo_is_sent_square_and_padded_for_googles_circle(
    google_wallet, client, merchant, settings, tmp_path
):
    # given: a wide logo (2:1) on a program whose card is #204060
    settings.MEDIA_ROOT = tmp_path
    program = factories.make_program(merchant, background_color="#204060")
    _upload_logo(program, (600, 300))
    url = payloads.class_payload(program, config_get())["programLogo"]["sourceUri"]["uri"]

    # when: Google fetches the logo
    response = client.get(url.removeprefix(SITE_URL))

    # then: a 660-pixel square on the card's colour, the logo whole inside the circle, its proportions kept
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (660, 660)
    assert image.getpixel((0, 0)) == image.getpixel((659, 659)) == (0x20, 0x40, 0x60)
    red = [(x, y) for y in range(0, 660, 2) for x in range(0, 660, 2) if image.getpixel((x, y))[0] > 150]
    left, right = min(x for x, _ in red), max(x for x, _ in red)
    top, bottom = min(y for _, y in red), max(y for _, y in red)
    assert abs((right - left) / (bottom - top) - 2) < 0.05  # padded, not stretched
    assert abs((left + right) / 2 - 330) <= 2 and abs((top + bottom) / 2 - 330) <= 2
    assert all(math.dist(corner, (330, 330)) < 330 for corner in ((left, top), (right, bottom)))  # nothing cut off
    assert "public" in response["Cache-Control"]


def test_a_new_logo_or_colour_is_a_new_logo_url(google_wallet, merchant, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    program = factories.make_program(merchant)
    _upload_logo(program, (200, 200))
    first = payloads.program_logo_url(program)

    program.background_color = "#000000"
    recoloured = payloads.program_logo_url(program)
    _upload_logo(program, (300, 100), name="new.png")
    replaced = payloads.program_logo_url(program)

    assert len({first, recoloured, replaced}) == 3


def test_an_unreadable_logo_is_sent_as_the_default_and_an_unknown_program_is_404(
    google_wallet, client, merchant, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    program = factories.make_program(merchant)
    program.logo = SimpleUploadedFile("broken.png", b"not an image", content_type="image/png")
    program.save()
    url = payloads.program_logo_url(program).removeprefix(SITE_URL)

    served = client.get(url)
    default = client.get(f"{SITE_URL}/api/v1/loyalty/passes/google/logo.png".removeprefix(SITE_URL))
    unknown = client.get(url.replace(f"/programs/{program.pk}/", f"/programs/{program.pk + 1000}/"))

    assert served.status_code == 200 and served.content == default.content
    assert unknown.status_code == 404
