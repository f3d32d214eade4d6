"""The PassKit web service through Django's test client: every status Apple's devices rely on."""

import datetime
import json

import pytest
from django.test import Client
from django.utils.http import http_date

from tests import factories
from tests.wallet.apple.conftest import unzip
from wallet.apple.services import apple_pass_get_or_create, apple_pass_mark_changed
from wallet.models import AppleDeviceRegistration, ApplePass

PASS_TYPE = "pass.dev.loyalty.local"
BASE = "/api/v1/loyalty/apple/v1"
DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


@pytest.fixture
def client():
    # Devices send no cookie and no CSRF token: the service must not need one.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def apple_pass(apple_settings, card):
    return apple_pass_get_or_create(card=card)


def _auth(apple_pass=None, token=None):
    return {"HTTP_AUTHORIZATION": f"ApplePass {token or apple_pass.authentication_token}"}


def _register(
    client, apple_pass, *, device=DEVICE, push_token="push-token-1", pass_type=PASS_TYPE, serial=None, **headers
):
    return client.post(
        f"{BASE}/devices/{device}/registrations/{pass_type}/{serial or apple_pass.serial_number}",
        data=json.dumps({"pushToken": push_token}),
        content_type="application/json",
        **headers,
    )


def test_register_stores_the_push_token_then_answers_already_registered(client, apple_pass):
    response = _register(client, apple_pass, **_auth(apple_pass))
    assert response.status_code == 201

    registration = AppleDeviceRegistration.objects.get()
    assert registration.device_library_identifier == DEVICE
    assert registration.push_token == "push-token-1"

    again = _register(client, apple_pass, push_token="push-token-2", **_auth(apple_pass))
    assert again.status_code == 200
    registration.refresh_from_db()
    assert registration.push_token == "push-token-2"
    assert AppleDeviceRegistration.objects.count() == 1


def test_register_refuses_a_wrong_or_missing_token_identically(client, apple_pass):
    wrong = _register(client, apple_pass, **_auth(token="x" * 32))
    missing = _register(client, apple_pass)
    other_scheme = _register(client, apple_pass, HTTP_AUTHORIZATION=f"Token {apple_pass.authentication_token}")
    unknown_serial_no_header = _register(client, apple_pass, serial="0" * 32)

    for response in (wrong, missing, other_scheme, unknown_serial_no_header):
        assert response.status_code == 401
        assert response.json() == {
            "error": {"code": "UNAUTHORIZED", "message": "Authentication failed.", "details": {}}
        }
    assert AppleDeviceRegistration.objects.count() == 0


def test_register_unknown_serial_or_pass_type_is_404(client, apple_pass):
    assert _register(client, apple_pass, serial="f" * 32, **_auth(apple_pass)).status_code == 404
    assert _register(client, apple_pass, pass_type="pass.com.example.other", **_auth(apple_pass)).status_code == 404
    assert AppleDeviceRegistration.objects.count() == 0


def test_register_needs_a_push_token(client, apple_pass):
    response = client.post(
        f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{apple_pass.serial_number}",
        data=json.dumps({}),
        content_type="application/json",
        **_auth(apple_pass),
    )
    assert response.status_code == 400
    assert AppleDeviceRegistration.objects.count() == 0


def test_token_of_another_pass_does_not_open_this_one(client, apple_pass, other_card):
    other_pass = apple_pass_get_or_create(card=other_card)

    response = _register(client, apple_pass, **_auth(other_pass))

    assert response.status_code == 401


def test_unregister(client, apple_pass):
    _register(client, apple_pass, **_auth(apple_pass))
    path = f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{apple_pass.serial_number}"

    assert client.delete(path).status_code == 401
    assert client.delete(path, **_auth(token="y" * 32)).status_code == 401
    assert AppleDeviceRegistration.objects.count() == 1
    assert (
        client.delete(f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{'e' * 32}", **_auth(apple_pass)).status_code
        == 404
    )

    assert client.delete(path, **_auth(apple_pass)).status_code == 200
    assert AppleDeviceRegistration.objects.count() == 0


def test_paths_are_exact_no_trailing_slash_and_no_redirect(client, apple_pass):
    response = client.post(
        f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{apple_pass.serial_number}/",
        data=json.dumps({"pushToken": "t"}),
        content_type="application/json",
        **_auth(apple_pass),
    )
    assert response.status_code == 404
    assert not AppleDeviceRegistration.objects.exists()


def _serials(client, device=DEVICE, since=None, pass_type=PASS_TYPE):
    query = {} if since is None else {"passesUpdatedSince": since}
    return client.get(f"{BASE}/devices/{device}/registrations/{pass_type}", query)


def test_list_of_updated_serials(client, apple_settings, store, apple_pass):
    other = apple_pass_get_or_create(card=factories.make_card(store))
    _register(client, apple_pass, **_auth(apple_pass))
    _register(client, other, **_auth(other))

    everything = _serials(client)
    assert everything.status_code == 200
    assert sorted(everything.json()["serialNumbers"]) == sorted([apple_pass.serial_number, other.serial_number])
    tag = everything.json()["lastUpdated"]
    assert isinstance(tag, str)

    assert _serials(client, since=tag).status_code == 204
    assert _serials(client, device="unknown-device").status_code == 204
    assert _serials(client, pass_type="pass.com.example.other").status_code == 404

    apple_pass_mark_changed(card_id=other.card_id)
    changed = _serials(client, since=tag)
    assert changed.status_code == 200
    assert changed.json()["serialNumbers"] == [other.serial_number]
    assert int(changed.json()["lastUpdated"]) > int(tag)


def test_two_updates_in_the_same_second_are_both_listed(client, apple_settings, store, apple_pass):
    second = apple_pass_get_or_create(card=factories.make_card(store))
    _register(client, apple_pass, **_auth(apple_pass))
    _register(client, second, **_auth(second))
    tag = _serials(client).json()["lastUpdated"]
    instant = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(seconds=30)

    apple_pass_mark_changed(card_id=apple_pass.card_id, now=instant)
    first_answer = _serials(client, since=tag).json()
    # The device asked between the two changes; the second one happens in the same instant.
    apple_pass_mark_changed(card_id=second.card_id, now=instant)
    apple_pass_mark_changed(card_id=apple_pass.card_id, now=instant)
    second_answer = _serials(client, since=first_answer["lastUpdated"]).json()

    assert first_answer["serialNumbers"] == [apple_pass.serial_number]
    assert sorted(second_answer["serialNumbers"]) == sorted([apple_pass.serial_number, second.serial_number])
    assert int(second_answer["lastUpdated"]) > int(first_answer["lastUpdated"])


def test_a_device_with_500_passes(client, apple_settings, store, program, django_assert_max_num_queries):
    passes = [apple_pass_get_or_create(card=factories.make_card(store)) for _ in range(500)]
    AppleDeviceRegistration.objects.bulk_create(
        AppleDeviceRegistration(apple_pass=apple_pass, device_library_identifier=DEVICE, push_token=f"token-{index}")
        for index, apple_pass in enumerate(passes)
    )

    with django_assert_max_num_queries(2):
        response = _serials(client)

    assert response.status_code == 200
    assert sorted(response.json()["serialNumbers"]) == sorted(p.serial_number for p in passes)
    tag = response.json()["lastUpdated"]
    for apple_pass in passes[:3]:
        apple_pass_mark_changed(card_id=apple_pass.card_id)
    assert sorted(_serials(client, since=tag).json()["serialNumbers"]) == sorted(p.serial_number for p in passes[:3])


def test_latest_pass_with_last_modified_and_304(client, apple_pass):
    path = f"{BASE}/passes/{PASS_TYPE}/{apple_pass.serial_number}"

    response = client.get(path, **_auth(apple_pass))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    assert json.loads(unzip(response.content)["pass.json"])["serialNumber"] == apple_pass.serial_number
    last_modified = response["Last-Modified"]

    not_modified = client.get(path, HTTP_IF_MODIFIED_SINCE=last_modified, **_auth(apple_pass))
    assert not_modified.status_code == 304
    assert not_modified.content == b""

    # A change within the same second as the copy the device holds is still served.
    ApplePass.objects.filter(pk=apple_pass.pk).update(
        changed_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    )
    apple_pass.refresh_from_db()
    held = http_date(apple_pass.changed_at.timestamp())
    apple_pass_mark_changed(card_id=apple_pass.card_id, now=apple_pass.changed_at)
    fresh = client.get(path, HTTP_IF_MODIFIED_SINCE=held, **_auth(apple_pass))
    assert fresh.status_code == 200
    assert fresh["Last-Modified"] != held


@pytest.mark.parametrize("reader", ["sql", "orm"])
def test_a_device_fetching_its_pass_costs_one_statement_once_the_program_version_is_built(
    client, apple_pass, django_assert_num_queries, monkeypatch, reader
):
    from wallet.apple.selectors import PASS_SOURCE_READERS, pass_source_reader

    monkeypatch.setitem(pass_source_reader, "read", PASS_SOURCE_READERS[reader])
    path = f"{BASE}/passes/{PASS_TYPE}/{apple_pass.serial_number}"
    assert client.get(path, **_auth(apple_pass)).status_code == 200  # the program version's design is built

    # The pass, its card, holder, program and merchant, the program version and the news: one statement.
    with django_assert_num_queries(1):
        response = client.get(path, **_auth(apple_pass))
    assert response.status_code == 200
    # A wrong token is refused by the same statement, before anything is built.
    with django_assert_num_queries(1):
        assert client.get(path, **_auth(token="z" * 32)).status_code == 401


def test_latest_pass_refusals(client, apple_pass):
    path = f"{BASE}/passes/{PASS_TYPE}/{apple_pass.serial_number}"
    assert client.get(path).status_code == 401
    assert client.get(path, **_auth(token="z" * 32)).status_code == 401
    assert client.get(f"{BASE}/passes/{PASS_TYPE}/{'a' * 32}", **_auth(apple_pass)).status_code == 404
    assert (
        client.get(f"{BASE}/passes/pass.com.example.other/{apple_pass.serial_number}", **_auth(apple_pass)).status_code
        == 404
    )


def test_log_endpoint_accepts_and_bounds_device_logs(client, apple_settings, caplog):
    caplog.set_level("WARNING", logger="wallet.apple.device_log")
    response = client.post(
        f"{BASE}/log",
        data=json.dumps({"logs": ["Web service error: " + "x" * 5000, "second"]}),
        content_type="application/json",
        REMOTE_ADDR="192.0.2.10",
    )
    assert response.status_code == 200
    messages = [record.device_message for record in caplog.records if record.name == "wallet.apple.device_log"]
    assert len(messages) == 2
    assert len(messages[0]) == 1000

    caplog.clear()
    for _ in range(5):
        client.post(
            f"{BASE}/log",
            data=json.dumps({"logs": ["m"] * 20}),
            content_type="application/json",
            REMOTE_ADDR="192.0.2.10",
        )
    logged = [record for record in caplog.records if record.name == "wallet.apple.device_log"]
    assert len(logged) == 60 - 2  # the per-minute budget, two of which were spent above

    too_big = client.post(f"{BASE}/log", data=json.dumps({"logs": ["x" * 70000]}), content_type="application/json")
    assert too_big.status_code == 413
    assert client.post(f"{BASE}/log", data="not json", content_type="application/json").status_code == 400


def test_log_budget_behind_a_proxy_is_per_device_address(client, apple_settings, settings, caplog):
    settings.TRUSTED_PROXY_COUNT = 1
    caplog.set_level("WARNING", logger="wallet.apple.device_log")

    def send(device_address, count):
        return client.post(
            f"{BASE}/log",
            data=json.dumps({"logs": ["m"] * count}),
            content_type="application/json",
            REMOTE_ADDR="10.0.0.1",  # the proxy, the same for every device
            HTTP_X_FORWARDED_FOR=device_address,
        )

    for _ in range(3):
        send("198.51.100.61", 20)  # the first device spends its whole minute
    caplog.clear()
    send("198.51.100.62", 20)
    send("198.51.100.61", 20)

    logged = [record for record in caplog.records if record.name == "wallet.apple.device_log"]
    assert len(logged) == 20  # the second device's; the first one's were over its budget


def test_download(client, apple_pass):
    response = client.get(f"/api/v1/loyalty/passes/apple/{apple_pass.serial_number}.pkpass")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    assert response["Last-Modified"] == http_date(apple_pass.changed_at.timestamp())
    assert set(unzip(response.content)) >= {"pass.json", "manifest.json", "signature", "icon.png", "logo.png"}
    assert client.get(f"/api/v1/loyalty/passes/apple/{'0' * 32}.pkpass").status_code == 404


def test_everything_is_404_when_apple_wallet_is_off(client, apple_pass, apple_off):
    assert client.get(f"/api/v1/loyalty/passes/apple/{apple_pass.serial_number}.pkpass").status_code == 404
    assert _register(client, apple_pass, **_auth(apple_pass)).status_code == 404
    assert _serials(client).status_code == 404
    assert client.get(f"{BASE}/passes/{PASS_TYPE}/{apple_pass.serial_number}", **_auth(apple_pass)).status_code == 404
