"""Stamp rules: add (program type, card state, PIN, cooldown, daily limit), redeem, void."""

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.exceptions import (
    AlreadyVoided,
    CardInactive,
    DailyStampLimit,
    InsufficientStamps,
    NothingToVoid,
    ProgramInactive,
    ProgramNotFound,
    ProgramTypeMismatch,
    StaffPinInvalid,
    StaffPinLocked,
    StaffPinRequired,
    StampCooldown,
    TransactionNotFound,
    ValidationFailed,
)
from loyalty.models import LoyaltyTransaction, MerchantSettings, Program, TransactionType
from loyalty.services import stamps
from loyalty.services.cards import card_deactivate
from loyalty.services.stamps import stamp_add, stamps_redeem, stamps_void
from tests import factories
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards, card_state

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, params=["sql", "orm"])
def stamp_implementation(request, monkeypatch):
    """Every test here runs on the till's hand-written SQL stamp and on its ORM reference."""
    versions = {"sql": stamps._stamp_add_sql, "orm": stamps._stamp_add}
    monkeypatch.setattr(stamps, "stamp_add_locked", versions[request.param])
    return request.param


def ref(card):
    return CardRef(card_id=card.pk)


def set_program(program, **fields):
    Program.objects.filter(pk=program.pk).update(**fields)


def give_stamps(actor, card, count, *, start=NOW, every=timedelta(minutes=20)):
    results = []
    for index in range(count):
        results.append(stamp_add(actor=actor, card_ref=ref(card), now=start + index * every))
    return results


# --- add ------------------------------------------------------------------------------


def test_stamp_add_increments_counters_and_records_one_transaction(actor, card, store):
    # when
    result = stamp_add(actor=actor, card_ref=ref(card), notes="flat white", now=NOW)

    # then
    card.refresh_from_db()
    assert (card.stamp_count, card.total_stamps_earned) == (1, 1)
    assert card.last_stamp_at == card.last_activity_at == NOW
    assert result.reward_earned is False
    assert result.stamps_today == 1
    assert result.max_daily_stamps == 5
    assert result.next_stamp_available_at == NOW + timedelta(minutes=15)
    tx = result.transaction
    assert (tx.type, tx.stamps_delta, tx.points_delta) == (TransactionType.STAMP_EARNED, 1, 0)
    assert (tx.stamp_balance_after, tx.store, tx.created_at, tx.notes) == (1, store, NOW, "flat white")
    assert LoyaltyTransaction.objects.filter(card=card, type=TransactionType.STAMP_EARNED).count() == 1
    assert_ledger_matches_cards()


def test_card_can_be_named_by_qr_code_or_card_number(actor, card):
    stamp_add(actor=actor, card_ref=CardRef(qr_code=card.qr_code_data), now=NOW)
    stamp_add(actor=actor, card_ref=CardRef(card_number=card.card_number), now=NOW + timedelta(minutes=20))
    card.refresh_from_db()
    assert card.stamp_count == 2


def test_reward_earned_is_reported_when_the_count_reaches_the_target(actor, card, program):
    set_program(program, stamps_target=3, cooldown_minutes=0)

    results = give_stamps(actor, card, 3)

    assert [r.reward_earned for r in results] == [False, False, True]
    assert [r.stamps_today for r in results] == [1, 2, 3]
    assert results[-1].card.stamp_count == 3
    assert all(r.next_stamp_available_at is None for r in results)  # no cooldown


@pytest.mark.parametrize("loyalty_type", ["points"])
def test_stamps_need_a_program_with_stamps(actor, card, program, loyalty_type):
    set_program(program, loyalty_type=loyalty_type)
    before = card_state(card)

    with pytest.raises(ProgramTypeMismatch) as error:
        stamp_add(actor=actor, card_ref=ref(card), now=NOW)

    assert error.value.code == "PROGRAM_TYPE_MISMATCH"
    assert error.value.details == {"loyalty_type": "points", "needs": "stamps"}
    assert card_state(card) == before


def test_inactive_program_refuses_stamps(actor, card, program):
    set_program(program, is_active=False)
    before = card_state(card)
    with pytest.raises(ProgramInactive):
        stamp_add(actor=actor, card_ref=ref(card), now=NOW)
    assert card_state(card) == before


def test_merchant_without_program_gets_program_not_found(db):
    store = factories.make_store()
    with pytest.raises(ProgramNotFound) as error:
        stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=1), now=NOW)
    assert error.value.code == "PROGRAM_NOT_FOUND"


def test_inactive_card_refuses_stamps(actor, owner, card):
    card_deactivate(actor=owner, card_ref=ref(card), reason="lost", now=NOW)
    before = card_state(card)

    with pytest.raises(CardInactive) as error:
        stamp_add(actor=actor, card_ref=ref(card), now=NOW + timedelta(hours=1))

    assert error.value.code == "CARD_INACTIVE"
    assert card_state(card) == before


# --- staff PIN --------------------------------------------------------------------------


@pytest.fixture
def pin_program(program):
    set_program(program, require_staff_pin=True)
    program.refresh_from_db()
    return program


def test_pin_required_when_the_program_says_so(actor, card, pin_program):
    before = card_state(card)
    with pytest.raises(StaffPinRequired) as error:
        stamp_add(actor=actor, card_ref=ref(card), now=NOW)
    assert error.value.code == "STAFF_PIN_REQUIRED"
    assert card_state(card) == before


def test_wrong_pin_is_refused_and_the_right_one_is_attributed(actor, card, store, pin_program):
    anna = factories.make_pin(store, pin="4821", name="Anna")
    before = card_state(card)

    with pytest.raises(StaffPinInvalid) as error:
        stamp_add(actor=actor, card_ref=ref(card), staff_pin="1111", now=NOW)
    assert error.value.code == "STAFF_PIN_INVALID"
    assert error.value.details == {"attempts_left": 4}
    assert card_state(card) == before

    result = stamp_add(actor=actor, card_ref=ref(card), staff_pin="4821", now=NOW)
    assert result.transaction.staff_pin == anna


def test_locked_pin_answers_locked_until_and_changes_nothing(actor, card, store, pin_program, merchant):
    factories.make_pin(store, pin="4821")
    MerchantSettings.objects.create(merchant=merchant, pin_max_failed_attempts=2, pin_lockout_minutes=10)
    with pytest.raises(StaffPinInvalid):
        stamp_add(actor=actor, card_ref=ref(card), staff_pin="0000", now=NOW)
    before = card_state(card)

    with pytest.raises(StaffPinLocked) as error:
        stamp_add(actor=actor, card_ref=ref(card), staff_pin="0001", now=NOW)
    assert error.value.code == "STAFF_PIN_LOCKED"
    assert error.value.details == {"locked_until": NOW + timedelta(minutes=10)}

    with pytest.raises(StaffPinLocked):  # even the right PIN, while locked
        stamp_add(actor=actor, card_ref=ref(card), staff_pin="4821", now=NOW + timedelta(minutes=9))
    assert card_state(card) == before

    stamp_add(actor=actor, card_ref=ref(card), staff_pin="4821", now=NOW + timedelta(minutes=10, seconds=1))
    assert card_state(card)["stamp_count"] == 1


def test_back_office_stamps_need_no_pin(card, store, pin_program, merchant):
    admin = Actor(merchant=merchant, store=store, role="owner", channel=Channel.ADMIN)
    result = stamp_add(actor=admin, card_ref=ref(card), now=NOW)
    assert result.transaction.staff_pin is None


# --- cooldown ----------------------------------------------------------------------------


def test_cooldown_refuses_a_second_stamp_too_soon(actor, card):
    stamp_add(actor=actor, card_ref=ref(card), now=NOW)
    before = card_state(card)

    with pytest.raises(StampCooldown) as error:
        stamp_add(actor=actor, card_ref=ref(card), now=NOW + timedelta(minutes=14, seconds=59))

    assert error.value.code == "STAMP_COOLDOWN"
    assert error.value.details["next_stamp_available_at"] == NOW + timedelta(minutes=15)
    assert error.value.details["retry_after_seconds"] == 2
    assert card_state(card) == before

    result = stamp_add(actor=actor, card_ref=ref(card), now=NOW + timedelta(minutes=15))
    assert result.card.stamp_count == 2


def test_cooldown_applies_across_stores(actor, card, merchant):
    station = factories.make_store(merchant)
    stamp_add(actor=actor, card_ref=ref(card), now=NOW)
    with pytest.raises(StampCooldown):
        stamp_add(actor=factories.till_actor(station), card_ref=ref(card), now=NOW + timedelta(minutes=5))


# --- daily limit -------------------------------------------------------------------------


def test_daily_limit_refuses_the_stamp_over_the_limit(actor, card):
    give_stamps(actor, card, 5)
    before = card_state(card)

    with pytest.raises(DailyStampLimit) as error:
        stamp_add(actor=actor, card_ref=ref(card), now=NOW + timedelta(hours=2))

    assert error.value.code == "DAILY_STAMP_LIMIT"
    assert error.value.details == {"stamps_today": 5, "max_daily_stamps": 5}
    assert card_state(card) == before


def test_voided_stamps_still_count_towards_the_daily_limit(actor, card, program):
    set_program(program, cooldown_minutes=0, max_daily_stamps=2)
    give_stamps(actor, card, 2)
    stamps_void(actor=actor, card_ref=ref(card), stamps_to_void=2, now=NOW + timedelta(hours=1))

    with pytest.raises(DailyStampLimit):
        stamp_add(actor=actor, card_ref=ref(card), now=NOW + timedelta(hours=2))


def test_daily_limit_follows_the_calendar_day_of_the_store_giving_the_stamp(card, program, merchant, store):
    """Kiritimati is UTC+14: its day starts at 10:00 UTC, while Luxembourg (UTC+1) is mid-morning."""
    set_program(program, cooldown_minutes=0, max_daily_stamps=2)
    island = factories.make_store(merchant, timezone="Pacific/Kiritimati")
    at_island = factories.till_actor(island)
    at_luxembourg = factories.till_actor(store)
    late_evening = datetime(2025, 3, 12, 9, 40, tzinfo=UTC)  # 23:40 on the 12th at the island

    stamp_add(actor=at_island, card_ref=ref(card), now=late_evening)
    stamp_add(actor=at_island, card_ref=ref(card), now=late_evening + timedelta(minutes=10))
    with pytest.raises(DailyStampLimit):
        stamp_add(actor=at_island, card_ref=ref(card), now=late_evening + timedelta(minutes=19))

    # 00:05 on the 13th at the island: a new day there.
    after_midnight = stamp_add(actor=at_island, card_ref=ref(card), now=late_evening + timedelta(minutes=25))
    assert after_midnight.stamps_today == 1

    # Same instant seen from Luxembourg (11:10 on the 12th): all three stamps were today, at any store.
    before = card_state(card)
    with pytest.raises(DailyStampLimit) as error:
        stamp_add(actor=at_luxembourg, card_ref=ref(card), now=late_evening + timedelta(minutes=30))
    assert error.value.details["stamps_today"] == 3
    assert card_state(card) == before

    # The island still has room for one more on its 13th.
    last = stamp_add(actor=at_island, card_ref=ref(card), now=late_evening + timedelta(minutes=30))
    assert last.stamps_today == 2


def test_daily_limit_resets_at_local_midnight(actor, card, program):
    set_program(program, cooldown_minutes=0, max_daily_stamps=1)
    # Luxembourg is UTC+1 in March: 22:59 UTC is 23:59 local, 23:00 UTC is midnight.
    stamp_add(actor=actor, card_ref=ref(card), now=datetime(2025, 3, 12, 22, 59, tzinfo=UTC))
    with pytest.raises(DailyStampLimit):
        stamp_add(actor=actor, card_ref=ref(card), now=datetime(2025, 3, 12, 22, 59, 59, tzinfo=UTC))
    result = stamp_add(actor=actor, card_ref=ref(card), now=datetime(2025, 3, 12, 23, 0, tzinfo=UTC))
    assert result.stamps_today == 1


# --- redeem ---------------------------------------------------------------------------------


def test_redeem_needs_the_target(actor, card, program):
    set_program(program, stamps_target=3, cooldown_minutes=0)
    give_stamps(actor, card, 2)
    before = card_state(card)

    with pytest.raises(InsufficientStamps) as error:
        stamps_redeem(actor=actor, card_ref=ref(card), now=NOW + timedelta(hours=1))

    assert error.value.code == "INSUFFICIENT_STAMPS"
    assert error.value.details == {"stamp_count": 2, "stamps_target": 3}
    assert card_state(card) == before


def test_redeem_subtracts_the_target_and_counts_one_reward(actor, card, program):
    set_program(program, stamps_target=3, cooldown_minutes=0)
    give_stamps(actor, card, 4)

    result = stamps_redeem(actor=actor, card_ref=ref(card), now=NOW + timedelta(hours=1))

    card.refresh_from_db()
    assert (card.stamp_count, card.stamps_redeemed, card.total_stamps_earned) == (1, 1, 4)
    assert card.last_redemption_at == NOW + timedelta(hours=1)
    assert (result.transaction.type, result.transaction.stamps_delta) == (TransactionType.STAMP_REDEEMED, -3)
    assert result.transaction.stamp_balance_after == 1
    assert_ledger_matches_cards()


def test_redeem_refused_on_an_inactive_card(actor, owner, card, program):
    set_program(program, stamps_target=1)
    stamp_add(actor=actor, card_ref=ref(card), now=NOW)
    card_deactivate(actor=owner, card_ref=ref(card), reason="fraud", now=NOW)
    before = card_state(card)
    with pytest.raises(CardInactive):
        stamps_redeem(actor=actor, card_ref=ref(card), now=NOW)
    assert card_state(card) == before


# --- void -------------------------------------------------------------------------------------


@pytest.fixture
def three_stamps(actor, card, program):
    set_program(program, cooldown_minutes=0)
    return give_stamps(actor, card, 3)


def test_void_by_count(actor, card, three_stamps):
    result = stamps_void(actor=actor, card_ref=ref(card), stamps_to_void=2, now=NOW + timedelta(hours=1))

    card.refresh_from_db()
    assert result.stamps_voided == 2
    assert (card.stamp_count, card.total_stamps_voided, card.total_stamps_earned) == (1, 2, 3)
    assert (result.transaction.type, result.transaction.stamps_delta) == (TransactionType.STAMP_VOIDED, -2)
    assert_ledger_matches_cards()


def test_void_by_count_never_goes_below_zero_and_says_how_many(actor, card, three_stamps):
    result = stamps_void(actor=actor, card_ref=ref(card), stamps_to_void=10, now=NOW + timedelta(hours=1))
    assert result.stamps_voided == 3
    assert result.card.stamp_count == 0
    assert result.transaction.stamps_delta == -3

    before = card_state(card)
    with pytest.raises(NothingToVoid):
        stamps_void(actor=actor, card_ref=ref(card), stamps_to_void=1, now=NOW + timedelta(hours=2))
    assert card_state(card) == before
    assert_ledger_matches_cards()


def test_void_by_original_transaction_at_most_once(actor, card, three_stamps):
    original = three_stamps[1].transaction

    result = stamps_void(actor=actor, card_ref=ref(card), original_transaction_id=original.pk, now=NOW)
    assert result.stamps_voided == 1
    assert result.transaction.voided_transaction == original
    assert result.card.stamp_count == 2

    before = card_state(card)
    with pytest.raises(AlreadyVoided) as error:
        stamps_void(actor=actor, card_ref=ref(card), original_transaction_id=original.pk, now=NOW)
    assert error.value.code == "ALREADY_VOIDED"
    assert error.value.details == {"original_transaction_id": original.pk}
    assert card_state(card) == before
    assert_ledger_matches_cards()


def test_void_by_original_when_the_stamps_were_already_spent_voids_nothing_more(actor, card, program, three_stamps):
    set_program(program, stamps_target=3)
    stamps_redeem(actor=actor, card_ref=ref(card), now=NOW + timedelta(hours=1))

    result = stamps_void(
        actor=actor, card_ref=ref(card), original_transaction_id=three_stamps[0].transaction.pk, now=NOW
    )

    assert result.stamps_voided == 0
    assert result.card.stamp_count == 0
    assert_ledger_matches_cards()


def test_void_by_original_must_name_a_stamp_transaction_of_this_card(actor, card, store, three_stamps):
    other_card = factories.make_card(store)
    other_tx = stamp_add(actor=actor, card_ref=ref(other_card), now=NOW).transaction
    enrollment = LoyaltyTransaction.objects.get(card=card, type=TransactionType.CARD_ENROLLED)
    before = card_state(card)

    for transaction_id in (other_tx.pk, enrollment.pk, 10_000_000):
        with pytest.raises(TransactionNotFound):
            stamps_void(actor=actor, card_ref=ref(card), original_transaction_id=transaction_id, now=NOW)
    assert card_state(card) == before


@pytest.mark.parametrize(
    "arguments",
    [{}, {"stamps_to_void": 1, "original_transaction_id": 1}, {"stamps_to_void": 0}, {"stamps_to_void": -2}],
)
def test_void_needs_exactly_one_positive_way(actor, card, arguments):
    with pytest.raises(ValidationFailed) as error:
        stamps_void(actor=actor, card_ref=ref(card), now=NOW, **arguments)
    assert error.value.code == "VALIDATION_ERROR"
