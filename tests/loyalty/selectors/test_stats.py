"""Statistics: figures of a small known history, in a constant, small number of queries."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.models import Program
from loyalty.selectors.stats import merchant_stats, platform_stats, program_stats
from loyalty.services.points import points_adjust, points_earn, points_redeem, points_void
from loyalty.services.stamps import stamp_add, stamps_redeem
from tests import factories

MAX_QUERIES = 10


def local_date(moment):
    return timezone.localtime(moment).date().isoformat()


@pytest.fixture
def history(merchant, store, program, other_store, other_program):
    """Four cards at two stores, a known set of operations, and another merchant's noise."""
    Program.objects.filter(pk=program.pk).update(stamps_target=2, cooldown_minutes=0, max_daily_stamps=10)
    station = factories.make_store(merchant, code="alpha-station", name="Station")
    now = timezone.now()
    at_center, at_station = factories.till_actor(store), factories.till_actor(station)
    back_office = Actor(merchant=merchant, role="owner", channel=Channel.ADMIN)
    reward = factories.make_reward(program, "Cookie", 30)
    c1, c4 = factories.make_card(store, now=now), factories.make_card(store, now=now)
    c2, c3 = factories.make_card(station, now=now), factories.make_card(station, now=now)

    def ref(card):
        return CardRef(card_id=card.pk)

    points_earn(actor=at_center, card_ref=ref(c1), purchase_amount_cents=500, now=now - timedelta(days=40))
    for _ in range(3):
        stamp_add(actor=at_center, card_ref=ref(c1), now=now - timedelta(hours=1))
    stamps_redeem(actor=at_center, card_ref=ref(c1), now=now - timedelta(hours=1))
    stamp_add(actor=at_station, card_ref=ref(c2), now=now - timedelta(days=10))
    points_adjust(actor=back_office, card_ref=ref(c2), points_delta=5, reason="sorry", now=now - timedelta(days=2))
    points_earn(actor=at_station, card_ref=ref(c3), purchase_amount_cents=1000, now=now - timedelta(days=3))
    points_redeem(actor=at_station, card_ref=ref(c3), reward_id=reward.pk, now=now - timedelta(days=3))
    points_void(actor=at_station, card_ref=ref(c3), points_to_void=20, now=now - timedelta(days=3))

    other_card = factories.make_card(other_store, now=now)
    stamp_add(actor=factories.till_actor(other_store), card_ref=ref(other_card), now=now - timedelta(hours=2))
    return {"now": now, "station": station, "program": program}


def test_program_stats_match_the_history(history, store):
    now, station = history["now"], history["station"]

    stats = program_stats(program=history["program"], now=now)

    assert {key: stats[key] for key in (
        "cards_total", "cards_active_30d", "cards_new_this_month",
        "stamps_issued", "stamps_voided", "stamp_rewards_redeemed", "stamps_outstanding",
        "points_issued", "points_redeemed", "points_voided", "points_expired", "points_outstanding",
        "transactions_7d", "transactions_30d",
    )} == {
        "cards_total": 4, "cards_active_30d": 3, "cards_new_this_month": 4,
        "stamps_issued": 4, "stamps_voided": 0, "stamp_rewards_redeemed": 1, "stamps_outstanding": 2,
        "points_issued": 150, "points_redeemed": 30, "points_voided": 20, "points_expired": 0, "points_outstanding": 105,
        "transactions_7d": 12, "transactions_30d": 13,
    }
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    redemptions = [now - timedelta(hours=1), now - timedelta(days=3)]
    assert stats["rewards_redeemed_this_month"] == sum(moment >= month_start for moment in redemptions)


def test_daily_series_has_thirty_local_days_ending_today(history):
    now = history["now"]

    daily = program_stats(program=history["program"], now=now)["daily"]

    assert len(daily) == 30
    assert daily[-1]["date"] == local_date(now)
    assert daily[0]["date"] == (timezone.localtime(now).date() - timedelta(days=29)).isoformat()
    stamps, points, enrollments, redemptions = Counter(), Counter(), Counter(), Counter()
    stamps[local_date(now - timedelta(hours=1))] += 3
    stamps[local_date(now - timedelta(days=10))] += 1
    points[local_date(now - timedelta(days=3))] += 100  # the earning 40 days ago is outside the window
    enrollments[local_date(now)] += 4
    redemptions[local_date(now - timedelta(hours=1))] += 1
    redemptions[local_date(now - timedelta(days=3))] += 1
    assert daily == [
        {"date": day["date"], "stamps": stamps[day["date"]], "points": points[day["date"]],
         "enrollments": enrollments[day["date"]], "redemptions": redemptions[day["date"]]}
        for day in daily
    ]


def test_per_store_breakdown(history, store):
    stores = program_stats(program=history["program"], now=history["now"])["stores"]

    assert [row["store_name"] for row in stores] == sorted(row["store_name"] for row in stores)
    assert {row["store_code"]: row for row in stores} == {
        store.code: {"store_code": store.code, "store_name": store.name, "cards_enrolled": 2, "stamps_30d": 3,
                     "points_30d": 0, "enrollments_30d": 2, "transactions_30d": 6},
        "alpha-station": {"store_code": "alpha-station", "store_name": "Station", "cards_enrolled": 2, "stamps_30d": 1,
                          "points_30d": 100, "enrollments_30d": 2, "transactions_30d": 6},
    }


def test_merchant_stats(history, merchant):
    stats = merchant_stats(merchant=merchant, now=history["now"])
    assert (stats["merchant_id"], stats["stores_total"], stats["customers_total"]) == (merchant.pk, 2, 4)
    assert (stats["cards_total"], stats["points_outstanding"], stats["transactions_30d"]) == (4, 105, 13)
    assert len(stats["daily"]) == 30
    assert [row["store_code"] for row in stats["stores"]] == [s.code for s in merchant.stores.order_by("name")]


def test_platform_stats_cover_every_merchant(history):
    stats = platform_stats(now=history["now"])
    assert (stats["merchants_total"], stats["merchants_active"], stats["stores_total"]) == (2, 2, 3)
    assert (stats["programs_active"], stats["cards_total"], stats["stamps_issued"]) == (2, 5, 5)
    assert stats["transactions_30d"] == 13 + 2  # the other merchant's enrollment and stamp


def test_stats_of_a_merchant_without_activity_are_zeros(store, program):
    stats = program_stats(program=program)
    assert stats["cards_total"] == stats["points_outstanding"] == stats["transactions_30d"] == 0
    assert len(stats["daily"]) == 30 and all(day["stamps"] == 0 for day in stats["daily"])


def count_queries(function):
    with CaptureQueriesContext(connection) as context:
        function()
    return len(context.captured_queries)


@pytest.mark.parametrize(
    "selector",
    [
        lambda history, merchant: program_stats(program=history["program"], now=history["now"]),
        lambda history, merchant: merchant_stats(merchant=merchant, now=history["now"]),
        lambda history, merchant: platform_stats(now=history["now"]),
    ],
    ids=["program", "merchant", "platform"],
)
def test_query_count_is_small_and_does_not_grow_with_the_cards(history, merchant, store, selector, django_assert_max_num_queries):
    with django_assert_max_num_queries(MAX_QUERIES):
        selector(history, merchant)
    few = count_queries(lambda: selector(history, merchant))

    for index in range(15):
        card = factories.make_card(store, now=history["now"])
        points_earn(
            actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), purchase_amount_cents=100 + index,
            now=history["now"] - timedelta(days=index),
        )

    assert count_queries(lambda: selector(history, merchant)) == few
