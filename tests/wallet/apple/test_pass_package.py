"""The .pkpass: contents, images, localizations and a signature that real openssl accepts."""

import datetime
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from django.core.files.base import ContentFile
from PIL import Image

from loyalty.domain.actors import Actor, Channel
from loyalty.models import LoyaltyCard, Reward
from loyalty.services.programs import program_update, reward_create, reward_update
from loyalty.services.tenancy import merchant_update, store_create, store_update
from tests import factories
from tests.wallet.apple.conftest import SITE_URL, unzip
from wallet.apple import builder, localization, signing
from wallet.apple.builder import pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.selectors import pass_source_read_orm, pass_source_read_sql
from wallet.apple.services import apple_pass_get_or_create

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl binary")

pytestmark = pytest.mark.usefixtures("each_pass_source_reader")


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


def test_pass_json_and_manifest_are_the_standard_librarys_compact_json(apple_settings, db):
    terms = 'Valable au « Café » d\'en face\n– 1 par jour, pas le 25/12 😀 \u2028 \\ "tab\t" \x7f'
    card, _ = _card("hybrid", stamps=3, points=40, terms_text=terms)

    _, files = _build(card)

    pass_json = json.loads(files["pass.json"])
    assert _back(files)["terms"]["value"] == terms
    assert files["pass.json"] == json.dumps(pass_json, ensure_ascii=False, separators=(",", ":")).encode()
    manifest = json.loads(files["manifest.json"])
    assert files["manifest.json"] == json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()


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


def _cms_printed(path) -> str:
    return subprocess.run(
        [OPENSSL, "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


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

    printed = _cms_printed(tmp_path / "signature")

    assert "signingTime" in printed
    assert "eContent: <ABSENT>" in printed  # detached
    assert "sha256" in printed
    certificates = pkcs7.load_der_pkcs7_certificates(files["signature"])
    wwdr = signing._load_certificate(str(dev_certificates.wwdr_cert))
    signer = signing._load_certificate(str(dev_certificates.signer_cert))
    assert wwdr in certificates
    assert signer in certificates


def _material():
    return signing.signing_material(apple_config())


def _signing_time(signature: bytes, template) -> datetime.datetime:
    at = len(template.head) + template.time_at
    return datetime.datetime.strptime(signature[at : at + 13].decode(), "%y%m%d%H%M%SZ").replace(tzinfo=datetime.UTC)


def test_a_signature_from_the_template_is_the_builders_own_bytes(apple_settings, db):
    material = _material()
    assert material.template is not None  # an RSA key: every pass is signed from the template
    manifest = json.dumps({"pass.json": "0" * 40, "icon.png": "1" * 40}).encode()

    made_by_the_builder = signing.builder_sign(manifest, material)
    # RSA PKCS#1 v1.5 is deterministic: the same manifest at the builder's second gives the same bytes.
    from_the_template = signing.template_sign(
        material, manifest, _signing_time(made_by_the_builder, material.template)
    )

    assert from_the_template == made_by_the_builder
    other = signing.template_sign(material, manifest + b" ", _signing_time(made_by_the_builder, material.template))
    assert other != made_by_the_builder  # the digest, and so the RSA signature, follow the manifest


@needs_openssl
def test_a_signature_from_the_template_verifies_and_carries_its_own_time(
    apple_settings, db, tmp_path, dev_certificates
):
    material = _material()
    manifest = b'{"pass.json":"da39a3ee5e6b4b0d3255bfef95601890afd80709"}'
    when = datetime.datetime(2031, 7, 4, 12, 30, 5, tzinfo=datetime.UTC)
    (tmp_path / "manifest.json").write_bytes(manifest)
    (tmp_path / "signature").write_bytes(signing.template_sign(material, manifest, when))

    result = _openssl_verify(tmp_path, dev_certificates.ca_cert)
    assert result.returncode == 0, result.stderr
    printed = _cms_printed(tmp_path / "signature")
    assert "UTCTIME:Jul  4 12:30:05 2031 GMT" in printed


def test_a_key_that_is_not_rsa_is_signed_by_the_builder(apple_settings, db):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "EC signer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    material = signing.SigningMaterial(certificate=certificate, private_key=key, wwdr_certificate=certificate)

    assert signing.signature_template(material) is None  # an ECDSA signature's size varies


@pytest.fixture
def signing_files_read_again(monkeypatch):
    """The certificates and key read again at the next pass, and after the test."""
    monkeypatch.setattr(signing, "_checked", {})
    signing._signing_material.cache_clear()
    yield
    signing._signing_material.cache_clear()


@needs_openssl
def test_a_builder_output_that_cannot_be_cut_leaves_every_signature_to_the_builder(
    apple_settings, db, tmp_path, dev_certificates, monkeypatch, caplog, signing_files_read_again
):
    def refuse(material):
        raise ValueError("not the expected structure")

    monkeypatch.setattr(signing, "signature_template", refuse)
    card, _ = _card("stamps")

    _, files = _build(card)

    assert _material().template is None
    assert "apple.signature_template_unavailable" in caplog.text
    for name in ("signature", "manifest.json"):
        (tmp_path / name).write_bytes(files[name])
    assert _openssl_verify(tmp_path, dev_certificates.ca_cert).returncode == 0


def test_certificates_and_key_are_loaded_once_per_process(apple_settings, db, monkeypatch):
    card, _ = _card("stamps")
    signing._signing_material.cache_clear()
    monkeypatch.setattr(signing, "FILES_CHECK_SECONDS", 0.0)  # the files are looked at on every pass

    _build(card)
    _build(card)
    _build(card)

    info = signing._signing_material.cache_info()
    assert info.misses == 1
    assert info.hits == 2


# --- The per-program-version cache: what every card of a program shares is built once, and never stale ------


def _owner(program):
    user = factories.make_user(role="owner", merchant=program.merchant)
    return Actor(merchant=program.merchant, user=user, role="owner", channel=Channel.ADMIN)


def _strings(files, language="en"):
    return localization.strings_file_parse(files[f"{language}.lproj/pass.strings"])


def _back(files):
    return _fields(json.loads(files["pass.json"]), "backFields")


def test_cards_of_one_program_share_its_design_and_their_own_figures_stay_their_own(apple_settings, db):
    card, program = _card("stamps", stamps=3)
    other = factories.make_card(card.enrolled_store or factories.make_store(program.merchant))
    LoyaltyCard.objects.filter(pk=other.pk).update(stamp_count=8)
    builder.pass_designs_clear()

    _, first = _build(card)
    _, second = _build(other)

    assert len(builder._designs) == 1
    assert first["icon.png"] is not None and first["icon@3x.png"] == second["icon@3x.png"]
    assert first["en.lproj/pass.strings"] == second["en.lproj/pass.strings"]
    assert _fields(json.loads(first["pass.json"]), "primaryFields")["stamps"]["value"] == "3 / 10"
    assert _fields(json.loads(second["pass.json"]), "primaryFields")["stamps"]["value"] == "8 / 10"
    assert first["strip.png"] != second["strip.png"]


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"name": "Tea Card"}, lambda files: _strings(files)["TEXT_DESCRIPTION"] == "Tea Card loyalty card"),
        ({"stamps_reward_description": "Free tea"}, lambda files: "Free tea" in _strings(files, "de")["TEXT_HOW_TO_EARN"]),
        ({"points_per_euro": 7}, lambda files: _strings(files, "fr")["TEXT_HOW_TO_EARN"].count("7 points par euro") == 1),
        ({"minimum_purchase_cents": 250}, lambda files: "2,50 €" in _strings(files, "lb")["TEXT_HOW_TO_EARN"]),
        ({"terms_text": "Only on Sundays."}, lambda files: _back(files).get("terms", {}).get("value") == "Only on Sundays."),
        ({"privacy_url": "https://example.test/p"}, lambda files: _back(files).get("privacy", {}).get("value") == "https://example.test/p"),
        ({"stamps_target": 12}, lambda files: _strings(files)["TEXT_HOW_TO_EARN"].startswith("One stamp per visit. 12 stamps")),
    ],
)  # fmt: skip
def test_a_program_change_is_on_the_next_pass(apple_settings, db, change, check):
    card, program = _card("hybrid", stamps=2, points=10)
    _, before = _build(card)
    assert not check(before)

    program_update(actor=_owner(program), **change)

    _, after = _build(card)
    assert check(after)


def test_new_colours_redraw_the_images(apple_settings, db):
    card, program = _card("stamps", stamps=2, background_color="#102030")
    _, before = _build(card)

    program_update(actor=_owner(program), background_color="#A0B0C0")

    _, after = _build(card)
    for name in ("icon.png", "logo@2x.png", "strip@3x.png"):
        assert before[name] != after[name], name
    assert Image.open(io.BytesIO(after["icon.png"])).convert("RGB").getpixel((0, 0)) == (0xA0, 0xB0, 0xC0)
    assert json.loads(after["pass.json"])["backgroundColor"] == "rgb(160, 176, 192)"


def _png(colour):
    upload = io.BytesIO()
    Image.new("RGB", (200, 100), colour).save(upload, format="PNG")
    return upload.getvalue()


def test_a_new_logo_is_on_the_next_pass_even_under_the_same_file_name(apple_settings, db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    card, program = _card("points")
    program.logo.save("logo.png", ContentFile(_png((200, 30, 30))))
    _, red = _build(card)

    # The file is replaced in place (same name), as a storage may do; the program is saved with it.
    program.refresh_from_db()
    with open(program.logo.path, "wb") as handle:
        handle.write(_png((30, 30, 200)))
    program.save()

    _, blue = _build(card)
    assert Image.open(io.BytesIO(red["logo.png"])).convert("RGB").getpixel((50, 25))[0] > 150
    assert Image.open(io.BytesIO(blue["logo.png"])).convert("RGB").getpixel((50, 25))[2] > 150
    assert red["icon.png"] != blue["icon.png"]


def test_the_reward_catalog_follows_every_reward_change(apple_settings, db):
    card, program = _card("points", points=60)
    owner = _owner(program)
    reward_create(actor=owner, name="Croissant", points_required=100)
    _, first = _build(card)
    assert _strings(first, "fr")["TEXT_REWARDS"] == "Croissant – 100 points"

    muffin = reward_create(actor=owner, name="Muffin", points_required=80)
    _, added = _build(card)
    assert _strings(added, "fr")["TEXT_NEXT_REWARD"] == "Muffin : encore 20 points"
    assert "Muffin – 80 points" in _strings(added, "fr")["TEXT_REWARDS"]

    reward_update(actor=owner, reward_id=muffin.pk, name="Big muffin")
    _, renamed = _build(card)
    assert "Big muffin – 80 points" in _strings(renamed)["TEXT_REWARDS"]

    reward_update(actor=owner, reward_id=muffin.pk, is_active=False)
    _, withdrawn = _build(card)
    assert "muffin" not in _strings(withdrawn)["TEXT_REWARDS"]

    Reward.objects.filter(program=program).exclude(pk=muffin.pk).delete()  # the admin may delete an unused reward
    _, emptied = _build(card)
    assert "TEXT_REWARDS" not in _strings(emptied)
    assert "rewards" not in _back(emptied)


def test_the_stores_text_follows_every_store_change(apple_settings, db):
    card, program = _card("stamps")
    owner = _owner(program)
    _, first = _build(card)
    assert _back(first)["stores"]["value"] == "Centre, 1 Grand-Rue Luxembourg"

    added = store_create(actor=owner, code="gare-store", name="Gare", address="2 Avenue de la Gare")
    _, second = _build(card)
    assert _back(second)["stores"]["value"] == "Centre, 1 Grand-Rue Luxembourg\nGare, 2 Avenue de la Gare"

    store_update(actor=owner, store_id=added.pk, is_active=False)
    _, third = _build(card)
    assert _back(third)["stores"]["value"] == "Centre, 1 Grand-Rue Luxembourg"


def test_the_hand_written_read_and_its_orm_twin_give_the_same_source(apple_settings, db):
    """Equal sources, version texts included: either reader finds the other's designs in the cache."""
    card, program = _card("points", points=30)
    apple_pass = apple_pass_get_or_create(card=card)
    owner = _owner(program)

    def both():
        return [read(apple_pass_id=apple_pass.pk) for read in (pass_source_read_sql, pass_source_read_orm)]

    sql, orm = both()
    assert sql == orm
    assert sql.design_key[-2:] == ("0 ", sql.design_key[-1])  # no reward yet; one store
    assert sql.design_key[-1].startswith("1 2")  # its number, then its latest change

    reward_create(actor=owner, name="Croissant", points_required=100)
    store_create(actor=owner, code="gare-store", name="Gare", address="2 Avenue de la Gare")
    sql, orm = both()
    assert sql == orm
    assert sql.design_key[-2].startswith("1 ") and sql.design_key[-1].startswith("2 ")


def test_a_new_merchant_name_is_on_the_next_pass(apple_settings, db):
    card, program = _card("stamps")
    _, before = _build(card)

    merchant_update(user=factories.make_admin(), merchant_id=program.merchant_id, name="Bäckerei Beispiel")

    _, after = _build(card)
    assert json.loads(after["pass.json"])["organizationName"] == "Bäckerei Beispiel"
    assert before["icon.png"] != after["icon.png"]  # the default logo is the merchant's initial: C, then B


def test_a_renewed_certificate_is_read_again_without_a_restart(
    apple_settings, db, tmp_path, dev_certificates, monkeypatch
):
    monkeypatch.setattr(signing, "FILES_CHECK_SECONDS", 0.0)  # at once, not within the next 5 seconds
    card, _ = _card("stamps")
    copy = tmp_path / "signer.pem"
    copy.write_bytes(dev_certificates.signer_cert.read_bytes())
    apple_settings.LOYALTY_APPLE_SIGNER_CERT_PATH = str(copy)
    _, files = _build(card)
    assert signing.signing_material(apple_config()).certificate == signing._load_certificate(str(copy))

    renewed = _renewed_signer(dev_certificates, tmp_path)
    copy.write_bytes(renewed)
    os.utime(copy, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))  # a new modification time

    _, files = _build(card)
    signers = pkcs7.load_der_pkcs7_certificates(files["signature"])
    assert x509.load_pem_x509_certificate(renewed) in signers


def _renewed_signer(dev_certificates, directory) -> bytes:
    """The same key certified again (a renewal), by the same WWDR dev intermediate."""
    from cryptography.hazmat.primitives import serialization

    from wallet.apple.dev_certs import issue_certificate

    old = x509.load_pem_x509_certificate(dev_certificates.signer_cert.read_bytes())
    key = serialization.load_pem_private_key(dev_certificates.signer_key.read_bytes(), password=None)
    wwdr_cert = x509.load_pem_x509_certificate(dev_certificates.wwdr_cert.read_bytes())
    wwdr_key = serialization.load_pem_private_key(dev_certificates.wwdr_key.read_bytes(), password=None)
    renewed = issue_certificate(
        subject=old.subject, public_key=key.public_key(), issuer_cert=wwdr_cert, issuer_key=wwdr_key,
        is_ca=False, days=30,
    )  # fmt: skip
    return renewed.public_bytes(serialization.Encoding.PEM)
