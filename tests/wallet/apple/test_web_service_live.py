"""The PassKit web service over a real HTTP server on loopback, as a device talks to it."""

import json
import threading

import httpx
import pytest

from loyalty.domain.cards import CardRef
from loyalty.services.stamps import stamp_add
from tests import factories
from tests.wallet.apple.conftest import unzip
from wallet.apple.backend import links
from wallet.models import AppleDeviceRegistration

PASS_TYPE = "pass.dev.loyalty.local"
DEVICE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def setup(transactional_db):
    merchant = factories.make_merchant("Live Café")
    store = factories.make_store(merchant)
    factories.make_program(merchant, loyalty_type="stamps")
    card = factories.make_card(store)
    return store, card


def test_device_lifecycle_over_http(live_server, apns_server, setup):
    store, card = setup
    # The customer page's button: the download URL, on SITE_URL.
    url = links(card)["apple_pass_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=10) as http:
        download = http.get(f"/{path}")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/vnd.apple.pkpass"
        pass_json = json.loads(unzip(download.content)["pass.json"])
        serial, token = pass_json["serialNumber"], pass_json["authenticationToken"]
        assert pass_json["webServiceURL"].endswith("/api/v1/loyalty/apple")
        service = "/api/v1/loyalty/apple/v1"
        auth = {"Authorization": f"ApplePass {token}"}
        registration_path = f"{service}/devices/{DEVICE}/registrations/{PASS_TYPE}/{serial}"

        assert http.post(registration_path, json={"pushToken": "live-push-token"}).status_code == 401
        assert (
            http.post(
                registration_path,
                json={"pushToken": "live-push-token"},
                headers={"Authorization": "ApplePass wrong-token-000000"},
            ).status_code
            == 401
        )
        assert (
            http.post(
                f"{service}/devices/{DEVICE}/registrations/pass.other/{serial}", json={"pushToken": "t"}, headers=auth
            ).status_code
            == 404
        )
        assert http.post(registration_path, json={"pushToken": "live-push-token"}, headers=auth).status_code == 201
        assert http.post(registration_path, json={"pushToken": "live-push-token"}, headers=auth).status_code == 200

        listing = http.get(f"{service}/devices/{DEVICE}/registrations/{PASS_TYPE}")
        assert listing.status_code == 200
        tag = listing.json()["lastUpdated"]
        assert (
            http.get(
                f"{service}/devices/{DEVICE}/registrations/{PASS_TYPE}", params={"passesUpdatedSince": tag}
            ).status_code
            == 204
        )

        latest = http.get(f"{service}/passes/{PASS_TYPE}/{serial}", headers=auth)
        assert latest.status_code == 200
        assert (
            http.get(
                f"{service}/passes/{PASS_TYPE}/{serial}",
                headers={**auth, "If-Modified-Since": latest.headers["last-modified"]},
            ).status_code
            == 304
        )

        # A stamp at the till: the device is pushed to, then finds and fetches the new pass.
        stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.id))
        assert [request["path"] for request in apns_server.requests] == ["/3/device/live-push-token"]
        changed = http.get(f"{service}/devices/{DEVICE}/registrations/{PASS_TYPE}", params={"passesUpdatedSince": tag})
        assert changed.status_code == 200
        assert changed.json()["serialNumbers"] == [serial]
        updated = http.get(
            f"{service}/passes/{PASS_TYPE}/{serial}",
            headers={**auth, "If-Modified-Since": latest.headers["last-modified"]},
        )
        assert updated.status_code == 200
        fields = json.loads(unzip(updated.content)["pass.json"])["storeCard"]["primaryFields"]
        assert fields[0]["value"] == "1 / 10"

        assert http.post(f"{service}/log", json={"logs": ["Passbook error: something"]}).status_code == 200
        assert (
            http.delete(registration_path, headers={"Authorization": "ApplePass nope-nope-nope-nope"}).status_code
            == 401
        )
        assert http.delete(registration_path, headers=auth).status_code == 200
        assert http.get(f"{service}/devices/{DEVICE}/registrations/{PASS_TYPE}").status_code == 204


@pytest.mark.postgres
def test_concurrent_duplicate_registrations_neither_fail_nor_duplicate(live_server, apple_settings, setup):
    _, card = setup
    url = links(card)["apple_pass_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    pass_json = json.loads(unzip(httpx.get(f"{live_server.url}/{path}", timeout=10).content)["pass.json"])
    registration_url = f"{live_server.url}/api/v1/loyalty/apple/v1/devices/{DEVICE}/registrations/{PASS_TYPE}/{pass_json['serialNumber']}"
    headers = {"Authorization": f"ApplePass {pass_json['authenticationToken']}"}
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    statuses = []

    def register():
        barrier.wait()
        response = httpx.post(registration_url, json={"pushToken": "same-token"}, headers=headers, timeout=20)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=register) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * (threads_count - 1) + [201]
    assert AppleDeviceRegistration.objects.filter(device_library_identifier=DEVICE).count() == 1
