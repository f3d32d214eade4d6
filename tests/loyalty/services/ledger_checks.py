"""Checks shared by the domain tests: the ledger invariant and "nothing changed".

``assert_ledger_matches_cards`` is the accountant's view of the ledger: for
every card, its balances equal the sums of its transactions' deltas, its
lifetime counters equal the sums per transaction type, and each row's
``*_balance_after`` snapshot equals the running total at that row.
"""

from collections import defaultdict

from django.db.models import Count, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce

from loyalty.models import LoyaltyCard, LoyaltyTransaction, TransactionType

T = TransactionType

_CARD_STATE_FIELDS = (
    "stamp_count",
    "total_stamps_earned",
    "stamps_redeemed",
    "total_stamps_voided",
    "points_balance",
    "total_points_earned",
    "points_redeemed",
    "total_points_voided",
    "total_points_expired",
    "is_active",
    "last_stamp_at",
    "last_points_at",
    "last_redemption_at",
    "last_activity_at",
)


def _sum(field, *types):
    condition = Q(transactions__type__in=types) if types else Q()
    return Coalesce(Sum(f"transactions__{field}", filter=condition), Value(0), output_field=IntegerField())


def ledger_mismatches(cards=None) -> list[str]:
    """Every way in which some card disagrees with its ledger (empty: all consistent)."""
    cards = LoyaltyCard.objects.all() if cards is None else cards
    rows = cards.order_by().annotate(
        ledger_stamps=_sum("stamps_delta"),
        ledger_points=_sum("points_delta"),
        ledger_stamps_earned=_sum("stamps_delta", T.STAMP_EARNED),
        ledger_stamps_voided=_sum("stamps_delta", T.STAMP_VOIDED),
        ledger_stamp_redemptions=Count("transactions", filter=Q(transactions__type=T.STAMP_REDEEMED)),
        ledger_points_earned=_sum("points_delta", T.POINTS_EARNED),
        ledger_points_redeemed=_sum("points_delta", T.POINTS_REDEEMED),
        ledger_points_voided=_sum("points_delta", T.POINTS_VOIDED),
        ledger_points_expired=_sum("points_delta", T.POINTS_EXPIRED),
    )
    problems = []
    for card in rows:
        expected = {
            "stamp_count": card.ledger_stamps,
            "points_balance": card.ledger_points,
            "total_stamps_earned": card.ledger_stamps_earned,
            "total_stamps_voided": -card.ledger_stamps_voided,
            "stamps_redeemed": card.ledger_stamp_redemptions,
            "total_points_earned": card.ledger_points_earned,
            "points_redeemed": -card.ledger_points_redeemed,
            "total_points_voided": -card.ledger_points_voided,
            "total_points_expired": -card.ledger_points_expired,
        }
        for field, ledger_value in expected.items():
            if getattr(card, field) != ledger_value:
                problems.append(f"card {card.pk}: {field}={getattr(card, field)} but the ledger says {ledger_value}")

    # Snapshots: rows of one card are written under its lock, so id order is the order of operations.
    running = defaultdict(lambda: [0, 0])
    snapshots = (
        LoyaltyTransaction.objects.filter(card__in=cards.values("pk"))
        .order_by("card_id", "pk")
        .values_list("pk", "card_id", "stamps_delta", "points_delta", "stamp_balance_after", "points_balance_after")
    )
    for pk, card_id, stamps_delta, points_delta, stamps_after, points_after in snapshots:
        totals = running[card_id]
        totals[0] += stamps_delta
        totals[1] += points_delta
        if min(totals) < 0:
            problems.append(f"card {card_id}: a balance went negative at transaction {pk}")
        if (stamps_after, points_after) != tuple(totals):
            problems.append(
                f"card {card_id}: transaction {pk} says ({stamps_after}, {points_after}) after, running total {totals}"
            )
    return problems


def assert_ledger_matches_cards(cards=None) -> None:
    problems = ledger_mismatches(cards)
    assert not problems, "\n".join(problems)


def card_state(card: LoyaltyCard) -> dict:
    """The card's stored state plus its ledger size: compare before and after a refused operation."""
    fresh = LoyaltyCard.objects.get(pk=card.pk)
    state = {field: getattr(fresh, field) for field in _CARD_STATE_FIELDS}
    state["ledger_rows"] = LoyaltyTransaction.objects.filter(card_id=card.pk).count()
    return state


def ledger_size() -> int:
    return LoyaltyTransaction.objects.count()
