"""The "Save to Google Wallet" link: a real RS256 JWT, verified here with google-auth."""

import base64
import json

import google.auth.crypt
import google.auth.jwt
import pytest
from django.urls import reverse

from loyalty.domain.cards import CardRef
from loyalty.services.cards import card_deactivate
from tests import factories
from wallet.google import backend
from wallet.google.config import config_get
from wallet.google.save_links import MAX_SAVE_URL_LENGTH, SAVE_URL_PREFIX, full_object_save_url
from wallet.models import GoogleWalletClass, GoogleWalletObject
from wallet.services import wallet_links

from .fake_google import CLIENT_EMAIL, ISSUER_ID, KEY_ID, SITE_URL

pytestmark = pytest.mark.django_db


def _save_path(card) -> str:
    return reverse("wallet_google:save", kwargs={"public_token": card.public_token})


def _verified_claims(token: str, certificate_pem: str) -> tuple[dict, dict]:
    """Header and claims of a save JWT whose RS256 signature checks against the certificate.

    Google's save JWT has no ``exp`` claim, which ``google.auth.jwt.decode``
    insists on when verifying, so the signature is checked with google-auth's
    ``crypt.verify_signature`` over the signed section, then the claims read.
    """
    signed_section, _, signature = token.rpartition(".")
    signature_bytes = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    assert google.auth.crypt.verify_signature(
        signed_section.encode(), signature_bytes, [certificate_pem], google.auth.crypt.RSAVerifier
    ), "the JWT signature does not verify with the service account's certificate"
    return google.auth.jwt.decode_header(token), google.auth.jwt.decode(token, verify=False)


def test_following_the_button_inserts_class_and_object_then_redirects_with_a_skinny_jwt(
    client, google_wallet, service_account_key, card
):
    # when the customer follows the button
    response = client.get(_save_path(card))

    # then Google was asked exactly as documented: GET, 404, insert; class first
    class_id = f"{ISSUER_ID}.loyalty-program-{card.program_id}"
    object_id = f"{ISSUER_ID}.loyalty-card-{card.pk}"
    assert google_wallet.calls() == [
        ("GET", f"loyaltyClass/{class_id}"),
        ("POST", "loyaltyClass"),
        ("GET", f"loyaltyObject/{object_id}"),
        ("POST", "loyaltyObject"),
    ]
    assert google_wallet.token_requests == 1
    inserted_object = google_wallet.bodies("POST")[1]
    assert inserted_object["classId"] == class_id
    assert inserted_object["barcode"] == {
        "type": "QR_CODE",
        "value": card.qr_code_data,
        "alternateText": card.card_number,
    }

    # and the customer is sent to Google with a short, signed link naming only the ids
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(SAVE_URL_PREFIX)
    assert len(location) < MAX_SAVE_URL_LENGTH
    header, claims = _verified_claims(location.removeprefix(SAVE_URL_PREFIX), service_account_key.certificate_pem)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    assert claims["iss"] == CLIENT_EMAIL
    assert claims["aud"] == "google"
    assert claims["typ"] == "savetowallet"
    assert claims["origins"] == [SITE_URL]
    assert isinstance(claims["iat"], int)
    assert claims["payload"] == {"loyaltyObjects": [{"id": object_id, "classId": class_id}]}
    assert response["Cache-Control"] == "no-store"

    # and the object id is kept on the card
    record = GoogleWalletObject.objects.get(card=card)
    assert record.object_id == object_id
    assert record.last_payload == inserted_object
    assert GoogleWalletClass.objects.get(program=card.program).class_id == class_id


def test_a_tampered_jwt_does_not_verify(client, google_wallet, service_account_key, card):
    token = client.get(_save_path(card))["Location"].removeprefix(SAVE_URL_PREFIX)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["payload"]["loyaltyObjects"][0]["id"] = f"{ISSUER_ID}.loyalty-card-999999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    with pytest.raises(AssertionError, match="does not verify"):
        _verified_claims(f"{header}.{forged}.{signature}", service_account_key.certificate_pem)


def test_a_second_click_with_nothing_changed_calls_google_no_more(client, google_wallet, card):
    client.get(_save_path(card))
    calls_after_first_click = len(google_wallet.requests)

    response = client.get(_save_path(card))

    assert response.status_code == 302
    assert len(google_wallet.requests) == calls_after_first_click


def test_when_google_is_unreachable_the_link_carries_the_whole_object_under_1800_characters(
    client, google_wallet, service_account_key, store, program
):
    # given a customer with the longest name the model allows, and Google answering 503
    card = factories.make_card(store)
    card.customer.full_name = "Maximilian-Alexander " * 9 + "von Luxemburg-Nassau"[:11]
    card.customer.save()
    google_wallet.answer_next("GET", "loyaltyClass", status=503)

    # when
    response = client.get(_save_path(card))

    # then the link still works, carries the full object, and fits
    assert response.status_code == 302
    location = response["Location"]
    assert len(location) < MAX_SAVE_URL_LENGTH
    _header, claims = _verified_claims(location.removeprefix(SAVE_URL_PREFIX), service_account_key.certificate_pem)
    (saved,) = claims["payload"]["loyaltyObjects"]
    assert saved["id"] == f"{ISSUER_ID}.loyalty-card-{card.pk}"
    assert saved["classId"] == f"{ISSUER_ID}.loyalty-program-{program.pk}"
    assert saved["state"] == "ACTIVE"
    assert saved["accountId"] == card.card_number
    assert saved["barcode"]["value"] == card.qr_code_data
    assert saved["loyaltyPoints"]["balance"] == {"string": "0/10"}
    assert saved["accountName"] == card.customer.full_name
    # and the card is left for the hourly sync, its object id kept
    card.refresh_from_db()
    assert card.wallet_needs_sync is True
    assert GoogleWalletObject.objects.get(card=card).object_id == saved["id"]


def test_the_full_object_link_is_trimmed_until_it_fits(google_wallet, card):
    config = config_get()
    long_object = {
        "id": f"{ISSUER_ID}.loyalty-card-{card.pk}",
        "classId": f"{ISSUER_ID}.loyalty-program-{card.program_id}",
        "state": "ACTIVE",
        "accountId": card.card_number,
        "accountName": "N" * 400,
        "loyaltyPoints": {"label": "L" * 700, "balance": {"string": "7/10"}},
        "secondaryLoyaltyPoints": {"label": "Points", "balance": {"int": 120}},
        "barcode": {"type": "QR_CODE", "value": card.qr_code_data, "alternateText": "A" * 300},
    }

    url = full_object_save_url(config, long_object)

    assert len(url) < MAX_SAVE_URL_LENGTH
    saved = google.auth.jwt.decode(url.removeprefix(SAVE_URL_PREFIX), verify=False)["payload"]["loyaltyObjects"][0]
    assert saved["barcode"] == {"type": "QR_CODE", "value": card.qr_code_data}
    assert saved["loyaltyPoints"] == {"balance": {"string": "7/10"}}
    assert "secondaryLoyaltyPoints" not in saved
    assert long_object["accountName"] == "N" * 400  # the caller's object is left as it was


def test_links_name_our_endpoint_only_when_configured(google_wallet, card):
    expected = {"google_save_url": f"{SITE_URL}/api/v1/loyalty/passes/google/{card.public_token}/save"}
    assert backend.links(card) == expected
    assert wallet_links(card)["google_save_url"] == expected["google_save_url"]
    assert google_wallet.requests == []  # building the button costs no call to Google


def test_unknown_and_deactivated_cards_get_no_link(client, google_wallet, card, owner):
    assert client.get(reverse("wallet_google:save", kwargs={"public_token": "not-a-card"})).status_code == 404

    card_deactivate(actor=owner, card_ref=CardRef(card_id=card.pk), reason="lost")
    card.refresh_from_db()

    response = client.get(_save_path(card))
    assert response.json()["error"]["code"] == "CARD_INACTIVE"
    assert backend.links(card) == {}
    assert google_wallet.requests == []


def test_a_card_of_a_deactivated_merchant_is_unknown_as_on_its_card_page(client, google_wallet, card):
    card.merchant.is_active = False
    card.merchant.save(update_fields=["is_active"])

    response = client.get(_save_path(card))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "CARD_NOT_FOUND"
    assert client.get(reverse("loyalty:card", kwargs={"token": card.public_token})).status_code == 404
    assert google_wallet.requests == []  # nothing of it reaches Google


def test_a_refusal_from_google_is_an_error_not_a_broken_link(client, google_wallet, card):
    google_wallet.answer_next("POST", "loyaltyClass", status=400)

    response = client.get(_save_path(card))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "GOOGLE_WALLET_UNAVAILABLE"


def test_the_default_logo_is_a_png_google_can_fetch(client):
    response = client.get(reverse("wallet_google:default_logo"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "max-age=86400" in response["Cache-Control"]
