"""Every stamp and point counts exactly once, whatever the interleaving.

8 threads (one PostgreSQL connection each) run 200 random till operations
each on 20 cards, through the services: stamps, stamp redemptions, earns with
a few order references (so replays and idempotency conflicts happen), reward
redemptions, voids of every kind, owner adjustments. Afterwards:

- nothing but business refusals (``LoyaltyError``) was raised: no deadlock,
  no integrity error, no thread stuck;
- no balance went negative, and every card equals its ledger (balances,
  lifetime counters, per-row snapshots: ``assert_ledger_matches_cards``);
- each successful operation wrote exactly one row, and refusals and replays none;
- no transaction was voided twice;
- every order reference has exactly one earning row, and every earn that used
  it got that row back (the first as the original, all others as replays).

The broader random mix with expiry and card status changes lives in
``tests/loyalty/test_concurrency.py``; this one is about scale and replays.
"""

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from loyalty.domain.cards import CardRef
from loyalty.exceptions import IdempotencyConflict, LoyaltyError
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Program, TransactionType
from loyalty.services.points import points_adjust, points_earn, points_redeem, points_void
from loyalty.services.stamps import stamp_add, stamps_redeem, stamps_void
from tests import factories
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards
from tests.loyalty.test_concurrency import run_concurrently, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
OPERATIONS_PER_THREAD = 200
CARDS = 20
REFERENCES = 12  # few, so most earns with a reference meet one already used
AMOUNTS_CENTS = (700, 1500)  # 70 and 150 points at 10 points per euro
# Each operation of the mix and how often it is drawn (every one must succeed at least once).
OPERATION_WEIGHTS = {
    "stamp": 6, "stamp_redeem": 1, "stamp_void_count": 1, "stamp_void_original": 1, "earn_reference": 5, "earn": 2,
    "points_redeem": 2, "points_void_amount": 1, "points_void_original": 1, "points_void_reference": 1, "adjust": 1,
}  # fmt: skip


@dataclass(frozen=True)
class Earn:
    """One successful ``points_earn`` with an order reference, as the till saw it."""

    reference: str
    card_id: int
    amount_cents: int
    transaction_id: int
    replayed: bool


@dataclass
class Tally:
    """What one thread did: successes per operation, refusals per code, the earns with a reference."""

    done: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    written: list[int] = field(default_factory=list)  # transaction ids of operations that wrote a row
    earns: list[Earn] = field(default_factory=list)


@dataclass(frozen=True)
class Shop:
    actor: object
    owner: object
    card_ids: list[int]
    reward_ids: list[int]
    references: list[tuple[str, int, int]]  # (order reference, the card and amount a till usually sends)


@pytest.fixture
def shop(merchant, store, program) -> Shop:
    Program.objects.filter(pk=program.pk).update(
        cooldown_minutes=0, max_daily_stamps=1000, stamps_target=3, points_per_euro=10, minimum_purchase_cents=0
    )
    card_ids = [factories.make_card(store).pk for _ in range(CARDS)]
    rewards = [factories.make_reward(program, f"Reward {cost}", cost) for cost in (20, 50, 90)]
    references = [
        (f"POS-{number:04d}", card_ids[number % CARDS], AMOUNTS_CENTS[number % 2]) for number in range(REFERENCES)
    ]
    return Shop(
        actor=factories.till_actor(store),
        owner=factories.owner_actor(store),
        card_ids=card_ids,
        reward_ids=[reward.pk for reward in rewards],
        references=references,
    )


def _some_transaction_id(card_id: int, kind: str) -> int | None:
    """A random earlier row of this card, as a cashier would pick it from the card's history."""
    return (
        LoyaltyTransaction.objects.filter(card_id=card_id, type=kind).order_by("?").values_list("pk", flat=True).first()
    )


def _void_original(void, actor, card_id: int, kind: str):
    """Void a random earlier row of ``kind`` by its id (None when the card has none yet)."""
    original = _some_transaction_id(card_id, kind)
    if original is None:
        return None
    return void(actor=actor, card_ref=CardRef(card_id=card_id), original_transaction_id=original)


def _earn_with_reference(shop: Shop, chooser: random.Random, tally: Tally):
    """Mostly the till's retry (same card and amount: a replay); sometimes a mistake (a conflict)."""
    reference, card_id, amount = chooser.choice(shop.references)
    if chooser.random() < 0.1:  # rare: when it wins the race to a new reference, the till's own retries conflict
        card_id, amount = chooser.choice(shop.card_ids), chooser.choice(AMOUNTS_CENTS)
    result = points_earn(
        actor=shop.actor, card_ref=CardRef(card_id=card_id), purchase_amount_cents=amount, order_reference=reference
    )
    tally.earns.append(Earn(reference, card_id, amount, result.transaction.pk, result.replayed))
    return result


def _return_by_reference(shop: Shop, chooser: random.Random, card_id: int):
    reference, home_card_id, _amount = chooser.choice(shop.references)
    on_card = home_card_id if chooser.random() < 0.8 else card_id
    return points_void(actor=shop.actor, card_ref=CardRef(card_id=on_card), order_reference=reference)


def _one_operation(shop: Shop, chooser: random.Random, tally: Tally) -> tuple[str, object]:
    """Run one random operation; return its name and result (None when there was nothing to name)."""
    card_id = chooser.choice(shop.card_ids)
    ref = CardRef(card_id=card_id)
    actor = shop.actor
    name = chooser.choices(list(OPERATION_WEIGHTS), weights=list(OPERATION_WEIGHTS.values()))[0]
    if name == "stamp":
        return name, stamp_add(actor=actor, card_ref=ref)
    if name == "stamp_redeem":
        return name, stamps_redeem(actor=actor, card_ref=ref)
    if name == "stamp_void_count":
        return name, stamps_void(actor=actor, card_ref=ref, stamps_to_void=chooser.randint(1, 3))
    if name == "stamp_void_original":
        return name, _void_original(stamps_void, actor, card_id, TransactionType.STAMP_EARNED)
    if name == "earn_reference":
        return name, _earn_with_reference(shop, chooser, tally)
    if name == "earn":
        return name, points_earn(actor=actor, card_ref=ref, purchase_amount_cents=chooser.choice(AMOUNTS_CENTS))
    if name == "points_redeem":
        return name, points_redeem(actor=actor, card_ref=ref, reward_id=chooser.choice(shop.reward_ids))
    if name == "points_void_amount":
        return name, points_void(actor=actor, card_ref=ref, points_to_void=chooser.randint(1, 120))
    if name == "points_void_original":
        return name, _void_original(points_void, actor, card_id, TransactionType.POINTS_EARNED)
    if name == "points_void_reference":
        return name, _return_by_reference(shop, chooser, card_id)
    return name, points_adjust(actor=shop.owner, card_ref=ref, points_delta=chooser.choice([-60, -5, 30]), reason="count")


def _worker(shop: Shop, thread: int) -> Tally:
    chooser = random.Random(20_250_312 + thread)
    tally = Tally()
    for _ in range(OPERATIONS_PER_THREAD):
        try:
            name, result = _one_operation(shop, chooser, tally)
        except LoyaltyError as refusal:  # a rule said no: expected in a random mix; anything else fails the test
            tally.refused[refusal.code] += 1
            continue
        if result is None:
            tally.refused["NOTHING_TO_NAME"] += 1
            continue
        if getattr(result, "replayed", False):
            tally.done["earn_replayed"] += 1
            continue
        tally.done[name] += 1
        tally.written.append(result.transaction.pk)
    return tally


def _merge(tallies: list[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.done.update(tally.done)
        total.refused.update(tally.refused)
        total.written.extend(tally.written)
        total.earns.extend(tally.earns)
    return total


def test_eight_threads_of_random_till_operations_keep_every_card_equal_to_its_ledger(shop, merchant):
    rows_before = set(LoyaltyTransaction.objects.values_list("pk", flat=True))

    outcomes = run_concurrently(lambda thread: _worker(shop, thread), count=THREADS)

    tallies, errors = split(outcomes)
    assert not errors, errors  # no deadlock, no IntegrityError, no unexpected exception
    total = _merge(tallies)
    done, refused = sum(total.done.values()), sum(total.refused.values())
    print(
        f"\nledger invariant: {done + refused} operations, {done} done ({done - total.done['earn_replayed']} wrote a row,"
        f" {total.done['earn_replayed']} replays), {refused} refused: {dict(total.refused)}; by kind: {dict(total.done)}"
    )

    # the mix did real work, of every kind, with replays and conflicts
    assert done + refused == THREADS * OPERATIONS_PER_THREAD
    assert done > THREADS * OPERATIONS_PER_THREAD // 2
    assert set(total.done) >= set(OPERATION_WEIGHTS) | {"earn_replayed"}, total.done
    assert total.done["earn_replayed"] >= 50
    assert total.refused[IdempotencyConflict.code] >= 10

    # no balance below zero; every card equals its ledger
    assert not LoyaltyCard.objects.filter(stamp_count__lt=0).exists()
    assert not LoyaltyCard.objects.filter(points_balance__lt=0).exists()
    assert_ledger_matches_cards()

    # one row per successful operation; none for a refusal or a replay
    new_rows = set(LoyaltyTransaction.objects.values_list("pk", flat=True)) - rows_before
    assert len(total.written) == len(set(total.written))
    assert set(total.written) == new_rows

    # each transaction voided at most once
    voided = list(
        LoyaltyTransaction.objects.filter(voided_transaction__isnull=False).values_list("voided_transaction", flat=True)
    )
    assert len(voided) == len(set(voided))

    _assert_every_replay_returned_its_original(total.earns, merchant)


def _assert_every_replay_returned_its_original(earns: list[Earn], merchant):
    by_reference: dict[str, list[Earn]] = {}
    for earn in earns:
        by_reference.setdefault(earn.reference, []).append(earn)
    for reference, uses in by_reference.items():
        (row,) = LoyaltyTransaction.objects.filter(
            merchant=merchant, order_reference=reference, type=TransactionType.POINTS_EARNED
        )  # exactly one earning row per reference
        assert {use.transaction_id for use in uses} == {row.pk}, reference
        assert [use.replayed for use in uses].count(False) == 1, reference  # the original, once
        assert {(use.card_id, use.amount_cents) for use in uses} == {(row.card_id, row.purchase_amount_cents)}
    earned_references = set(
        LoyaltyTransaction.objects.filter(type=TransactionType.POINTS_EARNED, order_reference__isnull=False)
        .values_list("order_reference", flat=True)
    )  # fmt: skip
    assert earned_references == set(by_reference)
