"""The scanner view counts "stamps today" exactly as the stamp service does, and reads what the ORM would.

``card_scanner_lookup`` reads the card, its day's stamp count, its open-alert
flag and its rewards in one hand-written statement; the stamp service counts
under the card's lock with ``stamps_today_filter``. These tests pin that they
agree, and that the statement's answer is, field for field, the one the ORM
queries it replaced give (``orm_scanner_lookup`` below, kept as the reference).
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty.api.serializers import ScannerViewSerializer, scanner_view
from loyalty.domain.cards import CardRef
from loyalty.domain.identifiers import is_valid_card_number
from loyalty.domain.stamp_days import stamps_today_filter
from loyalty.exceptions import CardNotFound, DailyStampLimit
from loyalty.models import (
    Alert,
    AlertRule,
    AlertSeverity,
    AlertStatus,
    LoyaltyCard,
    LoyaltyTransaction,
    Program,
    Reward,
)
from loyalty.selectors.cards import _scanner_view, card_scanner_lookup
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


# --- The statement against the ORM it replaced -------------------------------------------------------------------


def orm_scanner_lookup(*, actor, query=None, card_ref=None, now):
    """The scanner view read through the ORM, as before the one statement: the reference of the tests below."""
    today = LoyaltyTransaction.objects.filter(stamps_today_filter(actor=actor, now=now), card=OuterRef("pk"))
    stamps_today = Subquery(today.order_by().values("card").annotate(count=Count("pk")).values("count"))
    open_alert = Alert.objects.filter(card=OuterRef("pk"), status=AlertStatus.OPEN)
    cards = (
        LoyaltyCard.objects.for_merchant(actor.merchant)
        .select_related("program", "customer", "enrolled_store")
        .annotate(stamps_today=Coalesce(stamps_today, 0), has_open_alert=Exists(open_alert))
    )
    if card_ref is not None:
        cards = cards.filter(**card_ref.lookup())
    elif is_valid_card_number(query):
        cards = cards.filter(card_number=query)
    elif "@" in query:
        cards = cards.filter(customer__email__iexact=query, program__merchant=actor.merchant)
    else:
        cards = cards.filter(qr_code_data=query)
    card = cards.first()
    if card is None:
        raise CardNotFound()
    rewards = Reward.objects.filter(program=card.program, is_active=True, points_required__lte=card.points_balance)
    return _scanner_view(
        card=card, now=now, stamps_today=card.stamps_today, has_open_alert=card.has_open_alert, rewards=list(rewards)
    )


def answers(card, actor, now):
    """The API's scanner answer by every name of ``card``, from the statement and from the ORM reference."""
    names = [
        {"query": card.card_number}, {"query": card.qr_code_data}, {"query": card.customer.email.upper()},
        {"card_ref": CardRef(card_id=card.pk)}, {"card_ref": CardRef(qr_code=card.qr_code_data)},
    ]  # fmt: skip
    for name in names:
        ours = ScannerViewSerializer(scanner_view(card_scanner_lookup(actor=actor, now=now, **name))).data
        reference = ScannerViewSerializer(scanner_view(orm_scanner_lookup(actor=actor, now=now, **name))).data
        yield name, ours, reference


def test_the_statement_answers_as_the_orm_did_in_every_state(hybrid, merchant, store, django_assert_num_queries):
    # given: a catalog in a chosen order, one inactive reward, one too dear; stamps today, a cooldown, an alert
    actor = factories.till_actor(store)
    card = factories.make_card(store, email="Lea.Muller@Example.com")
    Program.objects.filter(pk=hybrid.pk).update(cooldown_minutes=30, max_daily_stamps=5)
    for name, points, position, active in (("Tea", 100, 2, True), ("Cake", 100, 1, True), ("Off", 10, 0, False),
                                           ("Coffee", 50, 2, True), ("Dinner", 100_000, 0, True)):  # fmt: skip
        factories.make_reward(hybrid, name, points, position=position, is_active=active)
    now = timezone.now()
    points_earn(actor=actor, card_ref=CardRef(card_id=card.pk), purchase_amount_cents=1500, now=now)
    stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=now)
    Alert.objects.create(
        merchant=merchant, rule=AlertRule.BUSY_CARD, severity=AlertSeverity.MEDIUM, card=card, store=store,
        subject_key=f"card:{card.pk}", window_start_at=now, window_end_at=now, evidence={},
    )  # fmt: skip
    states = {
        "with everything": lambda: None,
        "without home store": lambda: LoyaltyCard.objects.filter(pk=card.pk).update(enrolled_store=None),
        "card deactivated": lambda: LoyaltyCard.objects.filter(pk=card.pk).update(is_active=False),
        "stamps only": lambda: Program.objects.filter(pk=hybrid.pk).update(loyalty_type="stamps"),
        "program deactivated": lambda: Program.objects.filter(pk=hybrid.pk).update(is_active=False),
    }
    seen = []
    for state, change in states.items():
        change()
        card.refresh_from_db()
        for name, ours, reference in answers(card, actor, now + timedelta(minutes=1)):
            assert ours == reference, (state, name)
        seen.append((ours["card"]["enrolled_store"], [r["name"] for r in ours["available_rewards"]],
                     ours["stamps_today"], ours["can_stamp"], ours["has_open_alert"]))  # fmt: skip
    # the states above are the ones meant: rewards in the catalog's order, then none once unusable
    assert seen == [
        ("alpha-center", ["Cake", "Coffee", "Tea"], 1, False, True),
        (None, ["Cake", "Coffee", "Tea"], 1, False, True),
        (None, [], 1, False, True),
        (None, [], 1, False, True),
        (None, [], 1, False, True),
    ]
    # and the whole answer, serializer included, is one statement (no deferred column read later)
    with django_assert_num_queries(1):
        ScannerViewSerializer(scanner_view(card_scanner_lookup(actor=actor, query=card.card_number))).data


def test_by_e_mail_case_does_not_matter_and_wildcards_are_letters(hybrid, store):
    actor = factories.till_actor(store)
    mia = factories.make_card(store, email="mia@example.com")

    assert card_scanner_lookup(actor=actor, query=" MIA@Example.COM ").card.pk == mia.pk
    for near in ("mi_@example.com", "%@example.com", "mia@example.co"):
        with pytest.raises(CardNotFound):
            card_scanner_lookup(actor=actor, query=near)
