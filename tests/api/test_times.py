"""One rule for every time the API sends: ISO 8601 in the local time of the request's store, with its offset."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from loyalty.models import Store
from staff.models import StorePinGuard
from tests import factories
from tests.api.conftest import error_of

BASE = "/api/v1/store/loyalty/"
NEW_YORK = "America/New_York"  # far from the site's TIME_ZONE (Europe/Luxembourg) and from UTC


@pytest.fixture
def store_in_new_york(store):
    Store.objects.filter(pk=store.pk).update(timezone=NEW_YORK)
    store.refresh_from_db()
    return store


def _offset_of(value: str, zone: str) -> bool:
    """Whether ``value`` is written with ``zone``'s offset at that instant."""
    instant = datetime.fromisoformat(value)
    return instant.utcoffset() == instant.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()


@pytest.mark.django_db
def test_a_stamp_and_its_cooldown_write_the_next_stamp_time_alike_in_the_stores_zone(
    store_in_new_york, staff_client, program, card
):
    stamped = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
    refused = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")

    assert (stamped.status_code, refused.status_code) == (201, 422)
    announced = stamped.json()["next_stamp_available_at"]
    in_the_error = error_of(refused)["details"]["next_stamp_available_at"]
    assert in_the_error == announced  # the same instant, written the same way
    assert _offset_of(announced, NEW_YORK) and not announced.endswith("Z")


@pytest.mark.django_db
def test_a_store_pin_lockout_is_written_in_the_stores_zone(store_in_new_york, staff_client, program, card):
    locked_until = timezone.now() + timedelta(minutes=20)
    StorePinGuard.objects.create(store=store_in_new_york, failed_attempts=5, locked_until=locked_until)
    factories.make_pin(store_in_new_york, "2580")

    refused = staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "2580"}, format="json")

    assert refused.status_code == 423
    written = error_of(refused)["details"]["locked_until"]
    assert _offset_of(written, NEW_YORK) and datetime.fromisoformat(written) == locked_until


@pytest.mark.django_db
def test_lists_and_the_token_write_times_in_the_stores_zone(
    store_in_new_york, merchant, staff_client, anonymous, program, card
):
    staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
    manager = factories.make_user("manager", merchant, stores=[store_in_new_york])

    transactions = staff_client.get(BASE + "transactions").json()["results"]
    card_body = staff_client.get(f"{BASE}cards/{card.pk}").json()
    token = anonymous.post(
        "/api/v1/auth/token",
        {"username": manager.username, "password": factories.PASSWORD, "store_code": store_in_new_york.code},
        format="json",
    )

    written = [transactions[0]["created_at"], card_body["last_stamp_at"], token.json()["expires_at"]]
    assert all(_offset_of(value, NEW_YORK) for value in written), written


@pytest.mark.django_db
def test_times_of_the_next_request_are_not_left_in_the_previous_stores_zone(store_in_new_york, staff_client, program):
    staff_client.get(BASE + "program")

    assert timezone.get_current_timezone_name() == "Europe/Luxembourg"


@pytest.mark.django_db
def test_a_time_sent_without_an_offset_is_read_in_the_stores_zone(store_in_new_york, staff_client, program, card):
    staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
    stamps = {"type": "STAMP_EARNED"}
    stamp = staff_client.get(BASE + "transactions", stamps).json()["results"][0]
    local = datetime.fromisoformat(stamp["created_at"]).replace(tzinfo=None)  # the store's wall clock at the stamp

    def stamps_since(moment):
        return staff_client.get(BASE + "transactions", {**stamps, "since": moment.isoformat()}).json()["count"]

    just_before, just_after = stamps_since(local - timedelta(minutes=1)), stamps_since(local + timedelta(minutes=1))

    assert (just_before, just_after) == (1, 0)
