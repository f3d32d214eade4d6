"""The staff activity report: per staff member and store-local day, counts by kind, cards, out of hours."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import LoyaltyTransaction, StoreOpeningHours, TransactionType
from loyalty.selectors.staff_activity import staff_activity
from tests import factories

pytestmark = pytest.mark.django_db

# Thursday 13 March 2025 in Luxembourg (UTC+1).
MORNING = datetime(2025, 3, 13, 9, 0, tzinfo=UTC)


def _row(card, kind, at, *, pin=None, user=None, store=None):
    return LoyaltyTransaction.objects.create(
        card=card,
        merchant=card.merchant,
        store=store if store is not None else card.enrolled_store,
        staff_pin=pin,
        acting_user=user,
        type=kind,
        stamp_balance_after=0,
        points_balance_after=0,
        created_at=at,
    )


@pytest.fixture
def shop():
    merchant = factories.make_merchant("Café Activity", slug="cafe-activity")
    store = factories.make_store(merchant, code="activity-centre", timezone="Europe/Luxembourg")
    factories.make_program(merchant)
    return store


def test_counts_per_staff_member_and_local_day(shop):
    pin = factories.make_pin(shop, pin="5555", name="Sam")
    manager = factories.make_user(role="manager", merchant=shop.merchant, stores=[shop], username="mia")
    till_user = factories.make_user(role="staff", merchant=shop.merchant, stores=[shop], username="till")
    first, second = factories.make_card(shop), factories.make_card(shop)
    StoreOpeningHours.objects.create(store=shop, weekday=3, opens=time(8), closes=time(18))  # Thursdays
    for minute in range(3):
        _row(first, TransactionType.STAMP_EARNED, MORNING + timedelta(minutes=minute), pin=pin, user=till_user)
    _row(second, TransactionType.STAMP_EARNED, MORNING, pin=pin)  # another till user: still Sam's day
    _row(first, TransactionType.STAMP_VOIDED, MORNING + timedelta(hours=1), pin=pin)
    _row(first, TransactionType.STAMP_EARNED, datetime(2025, 3, 13, 18, 30, tzinfo=UTC), pin=pin)  # 19:30: closed
    _row(first, TransactionType.STAMP_REDEEMED, datetime(2025, 3, 13, 23, 30, tzinfo=UTC), pin=pin)  # Friday 00:30
    _row(second, TransactionType.POINTS_ADJUSTED, MORNING, user=manager, store=None)  # back office, no store
    _row(second, TransactionType.CARD_ENROLLED, MORNING)  # nobody's: not in the report

    rows = staff_activity(merchant=shop.merchant, first_day=date(2025, 3, 13), last_day=date(2025, 3, 14))

    summary = [
        (
            row.day,
            row.staff,
            row.operations,
            row.stamps_earned,
            row.voids,
            row.stamp_rewards,
            row.adjustments,
            row.distinct_cards,
            row.out_of_hours,
        )
        for row in rows
    ]
    assert summary == [
        (date(2025, 3, 14), "Sam", 1, 0, 0, 1, 0, 1, 0),
        (date(2025, 3, 13), "mia", 1, 0, 0, 0, 1, 1, 0),
        (date(2025, 3, 13), "Sam", 6, 5, 1, 0, 0, 2, 1),
    ]
    assert rows[2].store == shop.name


def test_narrowed_to_stores_and_to_the_merchant(shop):
    station = factories.make_store(shop.merchant, code="activity-station")
    other_store = factories.make_store(factories.make_merchant("Other", slug="other-activity"), code="other-act")
    factories.make_program(other_store.merchant)
    _row(factories.make_card(shop), TransactionType.STAMP_EARNED, MORNING, pin=factories.make_pin(shop, pin="5555"))
    _row(factories.make_card(station), TransactionType.STAMP_EARNED, MORNING, pin=factories.make_pin(station))
    _row(factories.make_card(other_store), TransactionType.STAMP_EARNED, MORNING, pin=factories.make_pin(other_store))

    everything = staff_activity(merchant=shop.merchant, first_day=date(2025, 3, 13), last_day=date(2025, 3, 13))
    station_only = staff_activity(
        merchant=shop.merchant, first_day=date(2025, 3, 13), last_day=date(2025, 3, 13), store_ids=[station.pk]
    )
    assert len(everything) == 2
    assert [row.store for row in station_only] == [station.name]


def test_a_bounded_number_of_queries_whatever_the_staff(shop):
    for index in range(5):
        pin = factories.make_pin(shop, pin=f"{5000 + index}", name=f"Staff {index}")
        _row(factories.make_card(shop), TransactionType.STAMP_EARNED, MORNING, pin=pin)
    StoreOpeningHours.objects.create(store=shop, weekday=3, opens=time(8), closes=time(18))
    with CaptureQueriesContext(connection) as queries:
        rows = staff_activity(merchant=shop.merchant, first_day=date(2025, 3, 1), last_day=date(2025, 3, 31))
    assert len(rows) == 5
    assert len(queries) <= 7  # hours, stores, zone, counts, out of hours, PIN names, user names
