"""The scanner view counts "stamps today" exactly as the stamp service does.

``card_scanner_lookup`` reads the count with the card in one statement (a
subquery), the stamp service counts under the card's lock; both use
``stamps_today_filter``, and these tests pin that they agree.
"""

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.domain.cards import CardRef
from loyalty.exceptions import CardNotFound, DailyStampLimit
from loyalty.models import Program
from loyalty.selectors.cards import card_scanner_lookup
from loyalty.services.points import points_earn
from loyalty.services.stamps import stamp_add, stamps_void
from tests import factories

pytestmark = pytest.mark.django_db

LATE_EVENING_AT_THE_ISLAND = datetime(2025, 3, 12, 9, 40, tzinfo=UTC)  # 23:40 on the 12th in Kiritimati (UTC+14)


@pytest.fixture
def hybrid(program):
    Program.objects.filter(pk=program.pk).update(
        loyalty_type="hybrid", cooldown_minutes=0, max_daily_stamps=3, points_per_euro=10
    )
    program.refresh_from_db()
    return program


def test_stamps_today_follow_the_local_day_of_the_store_looking(card, hybrid, merchant, store):
    island = factories.make_store(merchant, timezone="Pacific/Kiritimati")
    at_island, at_luxembourg = factories.till_actor(island), factories.till_actor(store)
    for minutes in (0, 10):
        stamp_add(
            actor=at_island, card_ref=CardRef(card_id=card.pk), now=LATE_EVENING_AT_THE_ISLAND + timedelta(minutes=minutes)
        )
    after_midnight = LATE_EVENING_AT_THE_ISLAND + timedelta(minutes=25)  # 00:05 on the 13th at the island

    at_the_island = card_scanner_lookup(actor=at_island, card_ref=CardRef(card_id=card.pk), now=after_midnight)
    in_luxembourg = card_scanner_lookup(actor=at_luxembourg, query=card.card_number, now=after_midnight)

    assert (at_the_island.stamps_today, at_the_island.can_stamp) == (0, True)
    assert (in_luxembourg.stamps_today, in_luxembourg.can_stamp) == (2, True)  # 11:05 on the 12th there


def test_only_stamps_count_and_the_limit_shows_before_the_next_stamp_is_refused(card, hybrid, store):
    actor = factories.till_actor(store)
    now = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
    points_earn(actor=actor, card_ref=CardRef(card_id=card.pk), purchase_amount_cents=1500, now=now)
    for minutes in (1, 2, 3):
        stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=now + timedelta(minutes=minutes))
    stamps_void(actor=actor, card_ref=CardRef(card_id=card.pk), stamps_to_void=1, now=now + timedelta(minutes=4))

    view = card_scanner_lookup(actor=actor, query=card.qr_code_data, now=now + timedelta(minutes=5))

    # a void gives a stamp back, not a stamp of the day: the service refuses a fourth stamp, and so does the view
    assert (view.stamps_today, view.max_daily_stamps, view.can_stamp) == (3, 3, False)
    assert view.card.points_balance == 150
    with pytest.raises(DailyStampLimit):
        stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=now + timedelta(minutes=6))


def test_a_card_of_another_merchant_is_not_found_by_any_name(store, hybrid, other_card):
    actor = factories.till_actor(store)
    for name in ({"query": other_card.card_number}, {"query": other_card.qr_code_data},
                 {"query": other_card.customer.email}, {"card_ref": CardRef(card_id=other_card.pk)}):  # fmt: skip
        with pytest.raises(CardNotFound):
            card_scanner_lookup(actor=actor, **name)
