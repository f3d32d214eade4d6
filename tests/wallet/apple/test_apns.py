"""Pushes against a local HTTP/2 TLS server that answers like APNs."""

import base64
import itertools
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from loyalty.domain.cards import CardRef
from loyalty.models import LoyaltyCard, LoyaltyTransaction
from loyalty.services.programs import program_update
from loyalty.services.stamps import stamp_add
from tests import factories
from wallet.apple.push import ApplePushFailed, apple_sync_card
from wallet.apple.selectors import serials_updated_since
from wallet.apple.services import apple_pass_get_or_create, device_register
from wallet.apple.tasks import retry_countdown_seconds
from wallet.models import AppleDeviceRegistration

PASS_TYPE = "pass.dev.loyalty.local"


@pytest.fixture
def registered(apple_settings, card):
    apple_pass = apple_pass_get_or_create(card=card)
    for device, token in (("device-one", "token-one"), ("device-two", "token-two")):
        device_register(apple_pass=apple_pass, device_library_identifier=device, push_token=token)
    return apple_pass


def _stamp(store, card, capture):
    with capture(execute=True):
        return stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.id))


def test_a_stamp_pushes_an_empty_notification_to_every_device(
    apns_server, registered, store, card, django_capture_on_commit_callbacks
):
    tag_before = registered.change_tag

    _stamp(store, card, django_capture_on_commit_callbacks)

    requests = apns_server.requests
    assert sorted(request["path"] for request in requests) == ["/3/device/token-one", "/3/device/token-two"]
    for request in requests:
        assert request["method"] == "POST"
        assert request["topic"] == PASS_TYPE
        assert request["body"] == b"{}"
        assert request["http_version"] == "2"
    assert len({request["client_port"] for request in requests}) == 1  # one reused connection
    registered.refresh_from_db()
    assert registered.change_tag > tag_before
    card.refresh_from_db()
    assert card.wallet_needs_sync is False
    assert serials_updated_since(device_library_identifier="device-one", since_tag=tag_before).serial_numbers == [
        registered.serial_number
    ]


def test_later_pushes_reuse_the_connection(apns_server, registered, store, card, django_capture_on_commit_callbacks):
    _stamp(store, card, django_capture_on_commit_callbacks)
    LoyaltyCard.objects.filter(pk=card.pk).update(last_stamp_at=None)  # past the cooldown
    _stamp(store, card, django_capture_on_commit_callbacks)

    assert len(apns_server.requests) == 4
    assert len({request["client_port"] for request in apns_server.requests}) == 1


def test_410_drops_the_registration(apns_server, registered, store, card, django_capture_on_commit_callbacks):
    apns_server.answers["token-one"] = [410]

    _stamp(store, card, django_capture_on_commit_callbacks)

    dropped = AppleDeviceRegistration.objects.get(device_library_identifier="device-one")
    assert dropped.unregistered_at is not None
    assert serials_updated_since(device_library_identifier="device-one", since_tag=None) is None
    card.refresh_from_db()
    assert card.wallet_needs_sync is False  # a 410 is an answer, not a failure

    apns_server.requests.clear()
    LoyaltyCard.objects.filter(pk=card.pk).update(last_stamp_at=None)
    _stamp(store, card, django_capture_on_commit_callbacks)
    assert [request["path"] for request in apns_server.requests] == ["/3/device/token-two"]

    # The device adds the pass again: it registers anew and is pushed to again.
    result = device_register(apple_pass=registered, device_library_identifier="device-one", push_token="token-one-new")
    assert result.created is True
    assert AppleDeviceRegistration.objects.get(device_library_identifier="device-one").unregistered_at is None


def test_500_is_retried_and_then_delivered(apns_server, registered, store, card, django_capture_on_commit_callbacks):
    apns_server.answers["token-one"] = [500, 200]

    _stamp(store, card, django_capture_on_commit_callbacks)

    statuses = [request["status"] for request in apns_server.requests if request["path"] == "/3/device/token-one"]
    assert statuses == [500, 200]
    assert len([request for request in apns_server.requests if request["path"] == "/3/device/token-two"]) == 1
    card.refresh_from_db()
    assert card.wallet_needs_sync is False


def test_apns_failing_marks_the_card_for_the_hourly_sync_and_never_fails_the_till(
    apns_server, registered, store, card, django_capture_on_commit_callbacks
):
    apns_server.answers["token-one"] = [503]

    result = _stamp(store, card, django_capture_on_commit_callbacks)

    assert result.card.stamp_count == 1
    assert LoyaltyTransaction.objects.filter(card=card, type="STAMP_EARNED").count() == 1
    assert len([request for request in apns_server.requests if request["path"] == "/3/device/token-one"]) == 2
    card.refresh_from_db()
    assert card.wallet_needs_sync is True
    assert AppleDeviceRegistration.objects.get(device_library_identifier="device-one").unregistered_at is None


def test_unreachable_apns_marks_the_card_and_never_fails_the_till(
    apple_settings, registered, store, card, django_capture_on_commit_callbacks
):
    # apple_settings points APNs at a port where nothing listens.
    result = _stamp(store, card, django_capture_on_commit_callbacks)

    assert result.card.stamp_count == 1
    card.refresh_from_db()
    assert card.wallet_needs_sync is True


def test_nothing_is_sent_when_apple_wallet_is_off(
    apns_server, registered, store, card, apple_off, django_capture_on_commit_callbacks
):
    tag_before = registered.change_tag

    _stamp(store, card, django_capture_on_commit_callbacks)

    assert apns_server.requests == []
    registered.refresh_from_db()
    assert registered.change_tag == tag_before


def test_a_card_without_registrations_sends_nothing(
    apns_server, apple_settings, store, card, django_capture_on_commit_callbacks
):
    apple_pass_get_or_create(card=card)

    _stamp(store, card, django_capture_on_commit_callbacks)

    assert apns_server.requests == []


def test_program_change_pushes_to_every_card_of_the_program(
    apns_server, registered, store, program, django_capture_on_commit_callbacks
):
    second_card = factories.make_card(store)
    second_pass = apple_pass_get_or_create(card=second_card)
    device_register(apple_pass=second_pass, device_library_identifier="device-three", push_token="token-three")
    tags_before = {registered.pk: registered.change_tag, second_pass.pk: second_pass.change_tag}

    with django_capture_on_commit_callbacks(execute=True):
        program_update(actor=factories.owner_actor(store), background_color="#000000")

    assert sorted(request["path"] for request in apns_server.requests) == [
        "/3/device/token-one", "/3/device/token-three", "/3/device/token-two",
    ]  # fmt: skip
    for apple_pass in (registered, second_pass):
        apple_pass.refresh_from_db()
        assert apple_pass.change_tag > tags_before[apple_pass.pk]


def test_sync_card_raises_when_a_device_could_not_be_told(apns_server, registered, card):
    apns_server.answers["token-two"] = [503]

    with pytest.raises(ApplePushFailed) as failure:
        apple_sync_card(card.id)

    assert len(failure.value.outcome.retryable) == 1
    apns_server.answers.clear()
    outcome = apple_sync_card(card.id)
    assert len(outcome.delivered) == 2


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_token_authentication_sends_a_valid_es256_jwt(apns_token_server, registered, card):
    apple_sync_card(card.id)

    authorizations = {request["authorization"] for request in apns_token_server.requests}
    assert len(apns_token_server.requests) == 2
    assert len(authorizations) == 1  # the token is reused, not minted per push
    scheme, token = authorizations.pop().split(" ")
    assert scheme == "bearer"
    header, claims, signature = token.split(".")
    assert json.loads(_b64decode(header)) == {"alg": "ES256", "kid": "TESTKEY123"}
    assert json.loads(_b64decode(claims))["iss"] == "TEAMTOKEN1"
    raw = _b64decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    apns_token_server.public_key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))


def test_retry_backoff_is_bounded():
    delays = [retry_countdown_seconds(retries) for retries in range(10)]
    assert delays[0] >= 10
    assert all(later >= earlier - 5 for earlier, later in itertools.pairwise(delays))
    assert max(delays) <= 605
