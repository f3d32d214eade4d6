"""Row locks under real concurrency: PostgreSQL, real threads, one connection each.

Each test starts its threads at a barrier so the operations overlap, and
each thread closes its own connection when it is done. SQLite serialises
writers anyway; these tests skip there.
"""

import random
import threading
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest
from django.db import connection

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.exceptions import (
    AlreadyEnrolled,
    DailyStampLimit,
    IdempotencyConflict,
    InsufficientPoints,
    InsufficientStamps,
    LoyaltyError,
    StaffPinInvalid,
    StaffPinLocked,
)
from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, MerchantSettings, Program, TransactionType
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.cards import card_deactivate, card_reactivate
from loyalty.services.enrollment import customer_enroll
from loyalty.services.points import points_adjust, points_earn, points_expire, points_redeem, points_void
from loyalty.services.stamps import stamp_add, stamps_redeem, stamps_void
from staff.models import StorePinFailure, StorePinGuard
from staff.services.pins import pin_verify
from tests import factories
from tests.support.bcrypt_hold import bcrypt_held
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
THREADS = 20


def run_concurrently(work, count=THREADS):
    """Run ``work(index)`` in ``count`` threads released together; return each result or exception."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def runner(index):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = work(index)
        except Exception as error:  # the test inspects every outcome
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return outcomes


def split(outcomes):
    successes = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    return successes, errors


def assert_only(errors, *allowed):
    unexpected = [error for error in errors if not isinstance(error, allowed)]
    assert not unexpected, f"unexpected errors: {unexpected!r}"


@pytest.fixture
def world(merchant, store, program):
    Program.objects.filter(pk=program.pk).update(cooldown_minutes=0, max_daily_stamps=5, stamps_target=10)
    program.refresh_from_db()
    return {"actor": factories.till_actor(store), "owner": factories.owner_actor(store), "program": program}


def test_twenty_concurrent_point_redeems_of_one_rewards_worth_let_exactly_one_through(world, card, reward):
    points_adjust(actor=world["owner"], card_ref=CardRef(card_id=card.pk), points_delta=100, reason="seed", now=NOW)

    outcomes = run_concurrently(
        lambda index: points_redeem(actor=world["actor"], card_ref=CardRef(card_id=card.pk), reward_id=reward.pk, now=NOW)
    )

    successes, errors = split(outcomes)
    assert len(successes) == 1
    assert len(errors) == THREADS - 1
    assert_only(errors, InsufficientPoints)
    card.refresh_from_db()
    assert (card.points_balance, card.points_redeemed) == (0, 100)
    assert LoyaltyTransaction.objects.filter(card=card, type=TransactionType.POINTS_REDEEMED).count() == 1
    assert_ledger_matches_cards()


def test_twenty_concurrent_stamp_redeems_of_one_full_card_let_exactly_one_through(world, card):
    Program.objects.filter(pk=world["program"].pk).update(max_daily_stamps=10)
    for minute in range(10):
        stamp_add(actor=world["actor"], card_ref=CardRef(card_id=card.pk), now=NOW + timedelta(minutes=minute))

    outcomes = run_concurrently(
        lambda index: stamps_redeem(actor=world["actor"], card_ref=CardRef(qr_code=card.qr_code_data), now=NOW)
    )

    successes, errors = split(outcomes)
    assert len(successes) == 1
    assert_only(errors, InsufficientStamps)
    card.refresh_from_db()
    assert (card.stamp_count, card.stamps_redeemed) == (0, 1)
    assert_ledger_matches_cards()


def test_twenty_concurrent_earns_with_one_order_reference_earn_once(world, card):
    outcomes = run_concurrently(
        lambda index: points_earn(
            actor=world["actor"], card_ref=CardRef(card_id=card.pk), purchase_amount_cents=2500,
            order_reference="TILL-1-0042", now=NOW,
        )
    )

    successes, errors = split(outcomes)
    assert not errors, errors
    assert sorted(result.replayed for result in successes) == [False] + [True] * (THREADS - 1)
    earning = LoyaltyTransaction.objects.get(type=TransactionType.POINTS_EARNED, order_reference="TILL-1-0042")
    assert {result.transaction.pk for result in successes} == {earning.pk}
    assert {result.points_earned for result in successes} == {250}
    card.refresh_from_db()
    assert card.points_balance == card.total_points_earned == 250
    assert_ledger_matches_cards()


def test_one_order_reference_on_twenty_cards_at_once_earns_once_the_rest_conflict(world, store):
    cards = [factories.make_card(store) for _ in range(THREADS)]

    outcomes = run_concurrently(
        lambda index: points_earn(
            actor=world["actor"], card_ref=CardRef(card_id=cards[index].pk), purchase_amount_cents=2500,
            order_reference="SHARED-REF", now=NOW,
        )
    )

    successes, errors = split(outcomes)
    assert len(successes) == 1 and successes[0].replayed is False
    assert len(errors) == THREADS - 1
    assert_only(errors, IdempotencyConflict)
    assert LoyaltyTransaction.objects.filter(type=TransactionType.POINTS_EARNED).count() == 1
    assert sum(LoyaltyCard.objects.values_list("points_balance", flat=True)) == 250
    assert_ledger_matches_cards()


def test_twenty_concurrent_stamps_with_a_daily_limit_of_five_give_exactly_five(world, card):
    outcomes = run_concurrently(
        lambda index: stamp_add(actor=world["actor"], card_ref=CardRef(card_number=card.card_number), now=NOW)
    )

    successes, errors = split(outcomes)
    assert len(successes) == 5
    assert_only(errors, DailyStampLimit)
    assert sorted(result.stamps_today for result in successes) == [1, 2, 3, 4, 5]
    card.refresh_from_db()
    assert card.stamp_count == card.total_stamps_earned == 5
    assert_ledger_matches_cards()


def test_concurrent_wrong_pins_never_evaluate_more_than_the_maximum(merchant, store, monkeypatch):
    MerchantSettings.objects.create(merchant=merchant, pin_max_failed_attempts=5, pin_lockout_minutes=15)
    factories.make_pin(store, pin="4821")
    checks = []
    real_checkpw = bcrypt.checkpw

    def spy(password, hashed):
        checks.append(password)  # list.append is atomic under the GIL
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)

    outcomes = run_concurrently(lambda index: pin_verify(store=store, pin=f"{9000 + index}", now=NOW))

    successes, errors = split(outcomes)
    assert not successes
    assert_only(errors, StaffPinInvalid, StaffPinLocked)
    invalid = [error for error in errors if isinstance(error, StaffPinInvalid)]
    locked = [error for error in errors if isinstance(error, StaffPinLocked)]
    assert len(checks) == 5  # the guard row serialises attempts: the sixth guess is never evaluated
    assert len(invalid) == 4  # the fifth wrong PIN is answered with the lock it caused
    assert len(locked) == THREADS - 4
    assert {error.details["locked_until"] for error in locked} == {NOW + timedelta(minutes=15)}
    guard = StorePinGuard.objects.get(store=store)
    assert guard.failed_attempts == 5
    with pytest.raises(StaffPinLocked):
        pin_verify(store=store, pin="4821", now=NOW + timedelta(minutes=1))


def test_concurrent_right_pins_give_wrong_ones_no_extra_attempt(merchant, store, monkeypatch):
    """Staff typing the right PIN while someone guesses: successes are not counted, and free no attempt."""
    MerchantSettings.objects.create(merchant=merchant, pin_max_failed_attempts=5, pin_lockout_minutes=15)
    factories.make_pin(store, pin="4821")
    wrong_checks = []
    real_checkpw = bcrypt.checkpw

    def spy(password, hashed):
        if password != b"4821":
            wrong_checks.append(password)
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)

    def attempt(index):  # odd threads are the staff with the right PIN
        return pin_verify(store=store, pin="4821" if index % 2 else f"{9000 + index}", now=NOW)

    outcomes = run_concurrently(attempt)

    rights, wrongs = outcomes[1::2], outcomes[0::2]
    assert_only([outcome for outcome in rights if isinstance(outcome, Exception)], StaffPinLocked)
    assert all(isinstance(outcome, (StaffPinInvalid, StaffPinLocked)) for outcome in wrongs)
    guard = StorePinGuard.objects.get(store=store)
    assert guard.failed_attempts == len(wrong_checks) == StorePinFailure.objects.filter(store=store).count()
    assert len(wrong_checks) <= 5
    assert (guard.locked_until is not None) == (len(wrong_checks) == 5)

    # and the guesses that follow get exactly what is left of the five
    for index in range(10):
        with pytest.raises((StaffPinInvalid, StaffPinLocked)):
            pin_verify(store=store, pin=f"{8000 + index}", now=NOW)
    assert len(wrong_checks) == 5
    assert StorePinGuard.objects.get(store=store).failed_attempts == 5
    with pytest.raises(StaffPinLocked):
        pin_verify(store=store, pin="4821", now=NOW + timedelta(minutes=1))


def test_a_pin_inside_bcrypt_holds_no_lock_on_its_store(merchant, store, program):
    """bcrypt runs outside any transaction: another PIN and a stamp at the same store go through meanwhile."""
    factories.make_pin(store, pin="4821", name="Anna")
    factories.make_pin(store, pin="1357", name="Ben")
    card = factories.make_card(store)
    outcomes = {}

    def run(name, work):
        try:
            outcomes[name] = work()
        except Exception as error:  # the test inspects every outcome
            outcomes[name] = error
        finally:
            connection.close()

    with bcrypt_held("4821") as (inside_bcrypt, release):
        held = threading.Thread(target=run, args=("anna", lambda: pin_verify(store=store, pin="4821", now=NOW)))
        held.start()
        assert inside_bcrypt.wait(30)
        till = factories.till_actor(store)
        others = [
            threading.Thread(target=run, args=("ben", lambda: pin_verify(store=store, pin="1357", now=NOW))),
            threading.Thread(
                target=run,
                args=("stamp", lambda: stamp_add(actor=till, card_ref=CardRef(card_id=card.pk), staff_pin="1357", now=NOW)),
            ),
        ]
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(timeout=10)
        finished_while_held = sorted(outcomes)
        release.set()
        held.join(timeout=30)

    assert finished_while_held == ["ben", "stamp"]
    assert outcomes["anna"].name == "Anna" and outcomes["ben"].name == "Ben"
    assert outcomes["stamp"].card.stamp_count == 1
    assert StorePinGuard.objects.get(store=store).failed_attempts == 0


def test_concurrent_enrollments_with_one_email_make_one_customer_and_one_card(store, program):
    emails = ["sam@example.com", "Sam@Example.com", "SAM@EXAMPLE.COM", "sam@EXAMPLE.com"]
    public = Actor(merchant=store.merchant, store=store, channel=Channel.PUBLIC)

    outcomes = run_concurrently(
        lambda index: customer_enroll(actor=public, email=emails[index % len(emails)], now=NOW)
    )

    successes, errors = split(outcomes)
    assert len(successes) == 1
    assert_only(errors, AlreadyEnrolled)
    card = LoyaltyCard.objects.get()
    assert Customer.objects.count() == 1
    assert {error.details["card_id"] for error in errors} == {card.pk}
    assert LoyaltyTransaction.objects.filter(type=TransactionType.CARD_ENROLLED).count() == 1


def test_concurrent_merchant_settings_get_or_create_makes_one_row(merchant):
    outcomes = run_concurrently(lambda index: merchant_settings_get(merchant=merchant).pk)

    successes, errors = split(outcomes)
    assert not errors, errors
    assert len(set(successes)) == 1
    assert MerchantSettings.objects.filter(merchant=merchant).count() == 1


def test_hundreds_of_random_mixed_operations_keep_every_card_consistent(world, store, program):
    """8 threads, 40 operations each, on 4 cards: whatever interleaving, no balance goes negative
    and each card equals its ledger."""
    Program.objects.filter(pk=program.pk).update(
        max_daily_stamps=1000, stamps_target=3, points_expiration_days=1
    )
    rewards = [factories.make_reward(program, f"Reward {cost}", cost) for cost in (20, 50, 90)]
    cards = [factories.make_card(store) for _ in range(4)]
    card_ids = [card.pk for card in cards]
    actor, owner = world["actor"], world["owner"]
    references = [f"ORDER-{number}" for number in range(12)]  # few: replays and conflicts happen

    def one_operation(chooser: random.Random, thread: int, step: int):
        ref = CardRef(card_id=chooser.choice(card_ids))
        at = NOW + timedelta(seconds=thread * 1000 + step)
        kind = chooser.randrange(12)
        if kind == 0:
            return stamps_redeem(actor=actor, card_ref=ref, now=at)
        if kind == 1:
            return stamps_void(actor=actor, card_ref=ref, stamps_to_void=chooser.randint(1, 3), now=at)
        if kind == 2:
            stamp = LoyaltyTransaction.objects.filter(card_id=ref.card_id, type=TransactionType.STAMP_EARNED).order_by("?").first()
            if stamp is not None:
                return stamps_void(actor=actor, card_ref=ref, original_transaction_id=stamp.pk, now=at)
            return None
        if kind == 3:
            return points_earn(
                actor=actor, card_ref=ref, purchase_amount_cents=chooser.choice([700, 1500]),
                order_reference=chooser.choice(references + [None]), now=at,
            )
        if kind == 4:
            return points_redeem(actor=actor, card_ref=ref, reward_id=chooser.choice(rewards).pk, now=at)
        if kind == 5:
            return points_void(actor=actor, card_ref=ref, points_to_void=chooser.randint(1, 120), now=at)
        if kind == 6:
            return points_void(actor=actor, card_ref=ref, order_reference=chooser.choice(references), now=at)
        if kind == 7:
            return points_adjust(actor=owner, card_ref=ref, points_delta=chooser.choice([-60, -5, 30]), reason="r", now=at)
        if kind == 8:
            return points_expire(now=at + timedelta(days=2))  # a run that overlaps till operations
        if kind == 9:
            if chooser.random() < 0.25:  # rarer than reactivation, so cards are mostly usable
                return card_deactivate(actor=owner, card_ref=ref, reason="check", now=at)
            return card_reactivate(actor=owner, card_ref=ref, now=at)
        return stamp_add(actor=actor, card_ref=ref, now=at)

    def worker(thread):
        chooser = random.Random(1000 + thread)
        done = refused = 0
        for step in range(40):
            try:
                one_operation(chooser, thread, step)
                done += 1
            except LoyaltyError:  # a rule said no: expected in a random mix
                refused += 1
        return done, refused

    outcomes = run_concurrently(worker, count=8)

    successes, errors = split(outcomes)
    assert not errors, errors  # no deadlock, no IntegrityError, no unexpected exception
    assert sum(done + refused for done, refused in successes) == 320
    assert sum(done for done, _ in successes) > 100  # the mix did real work
    assert not LoyaltyCard.objects.filter(pk__in=card_ids, stamp_count__lt=0).exists()
    assert not LoyaltyCard.objects.filter(pk__in=card_ids, points_balance__lt=0).exists()
    assert LoyaltyTransaction.objects.filter(card_id__in=card_ids).count() > 100
    assert_ledger_matches_cards()
    voided = LoyaltyTransaction.objects.filter(voided_transaction__isnull=False).values_list("voided_transaction", flat=True)
    assert len(voided) == len(set(voided))  # each transaction voided at most once
