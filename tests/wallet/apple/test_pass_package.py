"""The .pkpass: contents, images, localizations and a signature that real openssl accepts."""

import hashlib
import io
import json
import math
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.serialization import pkcs7
from django.core.files.base import ContentFile
from PIL import Image

from loyalty.models import LoyaltyCard
from tests import factories
from tests.wallet.apple.conftest import SITE_URL, unzip
from wallet.apple import localization, signing
from wallet.apple.builder import pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.services import apple_pass_get_or_create

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl binary")


def _card(loyalty_type, *, stamps=0, points=0, **program_fields):
    merchant = factories.make_merchant("Café Beispiel")
    store = factories.make_store(merchant, name="Centre", address="1 Grand-Rue\nLuxembourg")
    program = factories.make_program(merchant, loyalty_type=loyalty_type, stamps_target=10, **program_fields)
    card = factories.make_card(store)
    LoyaltyCard.objects.filter(pk=card.pk).update(stamp_count=stamps, points_balance=points)
    card.refresh_from_db()
    return card, program


def _build(card):
    apple_pass = apple_pass_get_or_create(card=card)
    apple_pass.refresh_from_db()
    return apple_pass, unzip(pass_package_build(apple_pass=apple_pass, config=apple_config()))


def _fields(pass_json, group):
    return {field["key"]: field for field in pass_json["storeCard"][group]}


def _size(data):
    return Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize("loyalty_type", ["stamps", "points", "hybrid"])
def test_package_has_every_file_hashed_in_the_manifest(apple_settings, db, loyalty_type):
    card, _ = _card(loyalty_type, stamps=7, points=1234)

    _, files = _build(card)

    manifest = json.loads(files["manifest.json"])
    hashed = set(files) - {"manifest.json", "signature"}
    assert set(manifest) == hashed
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name
    for language in ("en", "fr", "de", "lb"):
        assert f"{language}.lproj/pass.strings" in manifest


@pytest.mark.parametrize("loyalty_type", ["stamps", "points", "hybrid"])
def test_pass_json_has_every_required_key(apple_settings, db, loyalty_type):
    card, _ = _card(loyalty_type, stamps=7, points=1234, background_color="#112233", text_color="#FAFBFC")

    apple_pass, files = _build(card)

    pass_json = json.loads(files["pass.json"])
    assert pass_json["formatVersion"] == 1
    assert pass_json["passTypeIdentifier"] == "pass.dev.loyalty.local"
    assert pass_json["teamIdentifier"] == "DEVTEAM001"
    assert pass_json["serialNumber"] == apple_pass.serial_number
    assert pass_json["authenticationToken"] == apple_pass.authentication_token
    assert len(pass_json["authenticationToken"]) >= 16
    assert pass_json["webServiceURL"] == SITE_URL + "/api/v1/loyalty/apple"
    assert pass_json["organizationName"] == "Café Beispiel"
    assert pass_json["description"] == "TEXT_DESCRIPTION"
    assert (
        localization.strings_file_parse(files["en.lproj/pass.strings"])["TEXT_DESCRIPTION"]
        == "Coffee Card loyalty card"
    )
    assert pass_json["backgroundColor"] == "rgb(17, 34, 51)"
    assert pass_json["foregroundColor"] == "rgb(250, 251, 252)"
    assert "barcode" not in pass_json  # the deprecated single-barcode key
    assert pass_json["barcodes"] == [
        {
            "format": "PKBarcodeFormatQR",
            "message": card.qr_code_data,
            "messageEncoding": "iso-8859-1",
            "altText": card.card_number,
        }
    ]
    assert set(pass_json["storeCard"]) == {
        "headerFields", "primaryFields", "secondaryFields", "auxiliaryFields", "backFields",
    }  # fmt: skip
    assert _fields(pass_json, "auxiliaryFields")["card_number"]["value"] == card.card_number
    assert "voided" not in pass_json


def test_stamp_card_shows_stamps_with_a_change_message(apple_settings, db):
    card, _ = _card("stamps", stamps=7)

    _, files = _build(card)

    pass_json = json.loads(files["pass.json"])
    stamps = _fields(pass_json, "primaryFields")["stamps"]
    assert stamps["value"] == "7 / 10"
    assert stamps["changeMessage"] == "CHANGE_STAMPS"
    assert _fields(pass_json, "headerFields")["stamps_to_go"]["value"] == 3
    assert "points" not in _fields(pass_json, "headerFields")
    english = localization.strings_file_parse(files["en.lproj/pass.strings"])
    assert english["CHANGE_STAMPS"] == "You now have %@ stamps"


def test_points_card_shows_points_and_the_next_reward(apple_settings, db):
    card, program = _card("points", points=60)
    factories.make_reward(program, "Croissant", 100)

    _, files = _build(card)

    pass_json = json.loads(files["pass.json"])
    points = _fields(pass_json, "headerFields")["points"]
    assert points["value"] == 60
    assert points["changeMessage"] == "CHANGE_POINTS"
    assert "stamps" not in _fields(pass_json, "primaryFields")
    assert "strip.png" not in files  # no stamps to draw
    french = localization.strings_file_parse(files["fr.lproj/pass.strings"])
    assert french["TEXT_NEXT_REWARD"] == "Croissant : encore 40 points"
    assert french["TEXT_REWARDS"] == "Croissant – 100 points"


def test_hybrid_card_shows_both_balances(apple_settings, db):
    card, _ = _card("hybrid", stamps=4, points=250)

    _, files = _build(card)

    pass_json = json.loads(files["pass.json"])
    assert _fields(pass_json, "headerFields")["points"]["value"] == 250
    assert _fields(pass_json, "primaryFields")["stamps"]["value"] == "4 / 10"
    assert "strip.png" in files


def test_every_localization_has_every_key_used_by_the_pass(apple_settings, db):
    card, program = _card(
        "hybrid", stamps=10, points=5, minimum_purchase_cents=500, terms_text="Not with other offers."
    )
    program.privacy_url = "https://example.test/privacy"
    program.save()
    card.refresh_from_db()

    _, files = _build(card)

    pass_json = json.loads(files["pass.json"])
    used = {pass_json["description"]}
    for group in pass_json["storeCard"].values():
        for field in group:
            used.add(field["label"])
            used.update(field[name] for name in ("changeMessage",) if name in field)
            if isinstance(field["value"], str) and field["value"].isupper():
                used.add(field["value"])
    tables = {
        language: localization.strings_file_parse(files[f"{language}.lproj/pass.strings"])
        for language in ("en", "fr", "de", "lb")
    }
    for language, table in tables.items():
        assert used <= set(table), (language, used - set(table))
        assert set(table) == set(tables["en"]), language
    assert tables["de"]["LABEL_STAMPS"] == "Stempel"
    assert tables["lb"]["LABEL_POINTS"] == "Punkten"
    assert tables["fr"]["TEXT_HOW_TO_EARN"] == (
        "Un tampon par visite. 10 tampons vous offrent : Free coffee. 10 points par euro dépensé. Achat minimum : 5,00 €."
    )
    assert tables["en"]["TEXT_HOW_TO_EARN"].endswith("Minimum purchase: €5.00.")
    assert files["de.lproj/pass.strings"].startswith(b"\xff\xfe")  # UTF-16 with its byte-order mark


def test_images_have_apple_sizes(apple_settings, db):
    card, _ = _card("stamps", stamps=3)

    _, files = _build(card)

    assert _size(files["icon.png"]) == (29, 29)
    assert _size(files["icon@2x.png"]) == (58, 58)
    assert _size(files["icon@3x.png"]) == (87, 87)
    width, height = _size(files["logo.png"])
    assert width <= 160 and height <= 50
    assert _size(files["logo@2x.png"]) == (width * 2, height * 2)
    assert _size(files["logo@3x.png"]) == (width * 3, height * 3)  # a 3× iPhone does not scale the 2× one up
    assert _size(files["strip.png"]) == (375, 144)  # the taller of the two strips Wallet shows a store card
    assert _size(files["strip@2x.png"]) == (750, 288)
    assert _size(files["strip@3x.png"]) == (1125, 432)


@pytest.mark.parametrize("target", [10, 50])  # a grid of stamps, and the progress bar of a long card
def test_the_stamps_stay_in_the_central_123_points_of_the_strip(apple_settings, db, target):
    card, program = _card("stamps", stamps=3, background_color="#204060")
    program.stamps_target = target
    program.save(update_fields=["stamps_target"])
    card.refresh_from_db()

    _, files = _build(card)

    background = (0x20, 0x40, 0x60)
    for scale, name in ((1, "strip.png"), (2, "strip@2x.png"), (3, "strip@3x.png")):
        image = Image.open(io.BytesIO(files[name])).convert("RGB")
        band_top, band_bottom = int(10.5 * scale), math.ceil(133.5 * scale)  # (144 - 123) / 2 points each side
        rows_outside = [*range(0, band_top), *range(band_bottom, image.height)]
        outside = {image.getpixel((x, y)) for y in rows_outside for x in range(image.width)}
        inside = {image.getpixel((x, y)) for y in range(band_top, band_bottom) for x in range(image.width)}
        assert outside == {background}, name  # cropped to 123 points high, nothing of a stamp is lost
        assert len(inside) > 1, name  # the stamps are there


def test_logo_comes_from_the_program_logo(apple_settings, db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    card, program = _card("points")
    upload = io.BytesIO()
    Image.new("RGB", (600, 300), (200, 30, 30)).save(upload, format="PNG")
    program.logo.save("wide.png", ContentFile(upload.getvalue()))
    card.refresh_from_db()

    _, files = _build(card)

    assert _size(files["logo.png"]) == (100, 50)
    assert _size(files["logo@2x.png"]) == (200, 100)
    assert _size(files["logo@3x.png"]) == (300, 150)
    red, green, *_ = Image.open(io.BytesIO(files["logo.png"])).convert("RGB").getpixel((50, 25))
    assert red > 150 and green < 80


def test_strip_is_redrawn_when_the_stamp_count_changes(apple_settings, db):
    card, _ = _card("stamps", stamps=3)
    _, before = _build(card)

    LoyaltyCard.objects.filter(pk=card.pk).update(stamp_count=4)
    card.refresh_from_db()
    _, after = _build(card)

    assert before["strip.png"] != after["strip.png"]
    assert before["icon.png"] == after["icon.png"]


def test_deactivated_card_is_voided(apple_settings, db):
    card, _ = _card("stamps")
    LoyaltyCard.objects.filter(pk=card.pk).update(is_active=False)
    card.refresh_from_db()

    _, files = _build(card)

    pass_json = json.loads(files["pass.json"])
    assert pass_json["voided"] is True
    assert _fields(pass_json, "auxiliaryFields")["status"]["value"] == "VALUE_DEACTIVATED"


def _openssl_verify(directory, ca_path):
    return subprocess.run(
        [
            OPENSSL, "smime", "-verify", "-binary", "-inform", "DER",
            "-in", str(directory / "signature"), "-content", str(directory / "manifest.json"),
            "-CAfile", str(ca_path), "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


@needs_openssl
def test_signature_verifies_with_openssl_and_breaks_when_pass_json_changes(
    apple_settings, db, tmp_path, dev_certificates
):
    card, _ = _card("hybrid", stamps=2, points=30)
    _, files = _build(card)
    for name in ("signature", "manifest.json"):
        (tmp_path / name).write_bytes(files[name])

    result = _openssl_verify(tmp_path, dev_certificates.ca_cert)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr

    # One byte of pass.json changes: its hash in a correct manifest changes, and the signature no longer matches.
    tampered = bytearray(files["pass.json"])
    tampered[10] ^= 0x01
    manifest = json.loads(files["manifest.json"])
    assert manifest["pass.json"] != hashlib.sha1(bytes(tampered)).hexdigest()
    manifest["pass.json"] = hashlib.sha1(bytes(tampered)).hexdigest()
    (tmp_path / "manifest.json").write_bytes(json.dumps(manifest, indent=2, sort_keys=True).encode())
    result = _openssl_verify(tmp_path, dev_certificates.ca_cert)
    assert result.returncode != 0
    assert "Verification successful" not in result.stderr


@needs_openssl
def test_signature_has_signing_time_and_the_wwdr_intermediate(apple_settings, db, tmp_path, dev_certificates):
    card, _ = _card("stamps")
    _, files = _build(card)
    (tmp_path / "signature").write_bytes(files["signature"])

    printed = subprocess.run(
        [OPENSSL, "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "signature")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    assert "signingTime" in printed
    assert "eContent: <ABSENT>" in printed  # detached
    assert "sha256" in printed
    certificates = pkcs7.load_der_pkcs7_certificates(files["signature"])
    wwdr = signing._load_certificate(str(dev_certificates.wwdr_cert))
    signer = signing._load_certificate(str(dev_certificates.signer_cert))
    assert wwdr in certificates
    assert signer in certificates


def test_certificates_and_key_are_loaded_once_per_process(apple_settings, db):
    card, _ = _card("stamps")
    signing._signing_material.cache_clear()

    _build(card)
    _build(card)
    _build(card)

    info = signing._signing_material.cache_info()
    assert info.misses == 1
    assert info.hits == 2
