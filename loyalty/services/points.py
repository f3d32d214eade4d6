"""Points rules: earn (idempotent per order reference), redeem a reward, void, adjust, expire.

Earning: ``floor(purchase_amount_cents * points_per_euro / 100)`` points, none
below ``minimum_purchase_cents``. ``order_reference`` is an idempotency key per
merchant, enforced by a unique constraint: the same reference with the same
card and amount replays the original result and changes nothing; with another
card or amount it is an ``IDEMPOTENCY_CONFLICT``.

Voids never take the balance below zero: when the customer already spent the
points, only what is left is taken back, and the result says how much.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.domain.actors import Actor
from loyalty.domain.cards import CardRef
from loyalty.exceptions import (
    AlreadyVoided,
    BelowMinimumPurchase,
    CardInactive,
    CardNotFound,
    IdempotencyConflict,
    InsufficientPoints,
    NothingToVoid,
    PermissionDenied,
    RewardNotFound,
    TransactionNotFound,
    ValidationFailed,
)
from loyalty.lock_objects import card_lock_sql, card_qs_for_update
from loyalty.models import MAX_PURCHASE_CENTS, LoyaltyCard, LoyaltyTransaction, Program, Reward, TransactionType
from loyalty.raw_sql import row_update, table
from loyalty.selectors.automatic_messages import card_points_expire_at, cards_points_expiring_before
from loyalty.services.automatic_messages import reward_ready_note
from loyalty.services.cards import card_get_locked
from loyalty.services.ledger import ledger_record, ledger_record_sql
from loyalty.services.operations import program_for_operation, staff_pin_for_operation
from loyalty_site.db import prepared_fetch_one

MAX_ADJUSTMENT = 100_000


@dataclass(frozen=True)
class PointsEarned:
    transaction: LoyaltyTransaction
    card: LoyaltyCard
    points_earned: int
    replayed: bool = False


@dataclass(frozen=True)
class PointsRedeemed:
    transaction: LoyaltyTransaction
    card: LoyaltyCard
    reward: Reward


@dataclass(frozen=True)
class PointsVoided:
    transaction: LoyaltyTransaction
    card: LoyaltyCard
    points_voided: int


@dataclass(frozen=True)
class PointsAdjusted:
    transaction: LoyaltyTransaction
    card: LoyaltyCard


@dataclass(frozen=True)
class PointsExpiry:
    cards: int
    points: int


def points_for_purchase(*, program: Program, purchase_amount_cents: int) -> int:
    return purchase_amount_cents * program.points_per_euro // 100


def _ensure_active(card: LoyaltyCard) -> None:
    if not card.is_active:
        raise CardInactive()


def _earning_for_reference(*, merchant, order_reference: str) -> LoyaltyTransaction | None:
    return LoyaltyTransaction.objects.filter(
        merchant=merchant, order_reference=order_reference, type=TransactionType.POINTS_EARNED
    ).first()


def _replay(*, original: LoyaltyTransaction, card: LoyaltyCard, purchase_amount_cents: int) -> PointsEarned:
    if original.card_id != card.pk or original.purchase_amount_cents != purchase_amount_cents:
        raise IdempotencyConflict(details={"order_reference": original.order_reference})
    return PointsEarned(transaction=original, card=card, points_earned=original.points_delta, replayed=True)


def points_earn(
    *,
    actor: Actor,
    card_ref: CardRef,
    purchase_amount_cents: int,
    order_reference: str | None = None,
    staff_pin: str | None = None,
    staff_pin_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> PointsEarned:
    if not isinstance(purchase_amount_cents, int) or not 0 < purchase_amount_cents <= MAX_PURCHASE_CENTS:
        raise ValidationFailed(
            details={"purchase_amount_cents": [f"Must be a whole number of cents from 1 to {MAX_PURCHASE_CENTS}."]}
        )
    order_reference = (order_reference or "").strip() or None
    now = now or timezone.now()
    program = program_for_operation(actor=actor, needs="points")
    pin = staff_pin_for_operation(actor=actor, program=program, staff_pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
    try:
        return points_earn_locked(
            actor=actor,
            card_ref=card_ref,
            program=program,
            purchase_amount_cents=purchase_amount_cents,
            order_reference=order_reference,
            pin=pin,
            notes=notes,
            now=now,
        )
    except IntegrityError:
        # The ledger's unique (merchant, order reference) caught an earn with the same reference that
        # committed after ours looked (on another card: the card lock did not order them). The earn
        # was rolled back whole, so no savepoint is paid on every earn (two round trips) for this
        # rare race; it answers as the replay or the conflict it is.
        if not order_reference:
            raise
        with transaction.atomic():
            card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
            original = _earning_for_reference(merchant=actor.merchant, order_reference=order_reference)
            if original is None:
                raise
            return _replay(original=original, card=card, purchase_amount_cents=purchase_amount_cents)


POINTS_EARN_FIELDS = ("points_balance", "total_points_earned", "last_points_at", "last_activity_at", "updated_at")


@transaction.atomic
def _points_earn(*, actor, card_ref, program, purchase_amount_cents, order_reference, pin, notes, now) -> PointsEarned:
    """The ORM version of :func:`_points_earn_sql`: the reference the same tests run against."""
    card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
    return _points_earn_on(
        card=card, actor=actor, program=program, purchase_amount_cents=purchase_amount_cents,
        order_reference=order_reference, pin=pin, notes=notes, now=now,
        earned_before=lambda: _earning_for_reference(merchant=actor.merchant, order_reference=order_reference),
        save=lambda: card.save(update_fields=POINTS_EARN_FIELDS), record=ledger_record,
    )  # fmt: skip


@transaction.atomic
def _points_earn_sql(*, actor, card_ref, program, purchase_amount_cents, order_reference, pin, notes, now):
    """An earn in hand-written statements: lock the card, look the order reference up, update, insert the row.

    The till's hottest path with :func:`loyalty.services.stamps._stamp_add_sql`; the rules are shared.
    """
    card = card_lock_sql(merchant=actor.merchant, lookup=card_ref.lookup())
    if card is None:
        raise CardNotFound()
    return _points_earn_on(
        card=card, actor=actor, program=program, purchase_amount_cents=purchase_amount_cents,
        order_reference=order_reference, pin=pin, notes=notes, now=now,
        earned_before=lambda: _earning_for_reference_sql(merchant=actor.merchant, order_reference=order_reference),
        save=lambda: row_update(card, POINTS_EARN_FIELDS), record=ledger_record_sql,
    )  # fmt: skip


# The till runs the SQL version; the ORM one is its reference (tests/loyalty/services/test_points.py runs on both).
points_earn_locked = _points_earn_sql


def _earning_for_reference_sql(*, merchant, order_reference: str) -> LoyaltyTransaction | None:
    """:func:`_earning_for_reference` as one indexed statement; the row itself is read only on a replay (rare)."""
    statement = (
        f"SELECT id FROM {table(LoyaltyTransaction)} WHERE merchant_id = %s AND order_reference = %s AND type = %s"
    )
    found = prepared_fetch_one(statement, [merchant.pk, order_reference, TransactionType.POINTS_EARNED.value])
    return None if found is None else LoyaltyTransaction.objects.get(pk=found[0])


def _points_earn_on(
    *, card, actor, program, purchase_amount_cents, order_reference, pin, notes, now, earned_before, save, record
) -> PointsEarned:
    """The earn's rules on the locked ``card``; ``earned_before``, ``save``, ``record``: the version's statements."""
    if order_reference:
        # Checked after the lock: an earlier earn on this card with this reference has committed.
        original = earned_before()
        if original is not None:
            return _replay(original=original, card=card, purchase_amount_cents=purchase_amount_cents)
    _ensure_active(card)
    if purchase_amount_cents < program.minimum_purchase_cents:
        raise BelowMinimumPurchase(details={"minimum_purchase_cents": program.minimum_purchase_cents})
    points = points_for_purchase(program=program, purchase_amount_cents=purchase_amount_cents)
    # The ledger row's insert may meet a concurrent earn with the same reference: the IntegrityError
    # leaves the transaction, and points_earn answers it.
    card.points_balance += points
    card.total_points_earned += points
    card.last_points_at = card.last_activity_at = now
    save()
    tx = record(
        card=card,
        actor=actor,
        type=TransactionType.POINTS_EARNED,
        points_delta=points,
        purchase_amount_cents=purchase_amount_cents,
        order_reference=order_reference,
        staff_pin=pin,
        notes=notes,
        now=now,
    )
    reward_ready_note(
        card=card,
        stamps_before=card.stamp_count,
        points_before=card.points_balance - points,
        ledger_row=tx,
        program=program,
    )
    return PointsEarned(transaction=tx, card=card, points_earned=points)


def points_redeem(
    *,
    actor: Actor,
    card_ref: CardRef,
    reward_id: int,
    staff_pin: str | None = None,
    staff_pin_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> PointsRedeemed:
    now = now or timezone.now()
    program = program_for_operation(actor=actor, needs="points")
    reward = Reward.objects.filter(pk=reward_id, program=program, is_active=True).first()
    if reward is None:
        raise RewardNotFound()
    pin = staff_pin_for_operation(actor=actor, program=program, staff_pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
    return _points_redeem(actor=actor, card_ref=card_ref, reward=reward, pin=pin, notes=notes, now=now)


@transaction.atomic
def _points_redeem(*, actor, card_ref, reward, pin, notes, now) -> PointsRedeemed:
    card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
    _ensure_active(card)
    if card.points_balance < reward.points_required:
        raise InsufficientPoints(
            details={"points_balance": card.points_balance, "points_required": reward.points_required}
        )
    card.points_balance -= reward.points_required
    card.points_redeemed += reward.points_required
    card.last_redemption_at = card.last_activity_at = now
    card.save(update_fields=["points_balance", "points_redeemed", "last_redemption_at", "last_activity_at", "updated_at"])
    tx = ledger_record(
        card=card,
        actor=actor,
        type=TransactionType.POINTS_REDEEMED,
        points_delta=-reward.points_required,
        reward=reward,
        staff_pin=pin,
        notes=notes,
        now=now,
    )
    return PointsRedeemed(transaction=tx, card=card, reward=reward)


def points_void(
    *,
    actor: Actor,
    card_ref: CardRef,
    points_to_void: int | None = None,
    original_transaction_id: int | None = None,
    order_reference: str | None = None,
    staff_pin: str | None = None,
    staff_pin_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> PointsVoided:
    """Take points back: by amount, by the earning transaction, or by its order reference (a return)."""
    order_reference = (order_reference or "").strip() or None  # as points_earn stored it
    given = [value for value in (points_to_void, original_transaction_id, order_reference) if value not in (None, "")]
    if len(given) != 1:
        raise ValidationFailed(
            details={"void": ["Give exactly one of points_to_void, original_transaction_id, order_reference."]}
        )
    if points_to_void is not None and not 0 < points_to_void <= MAX_ADJUSTMENT:
        raise ValidationFailed(details={"points_to_void": [f"Must be from 1 to {MAX_ADJUSTMENT}."]})
    now = now or timezone.now()
    program = program_for_operation(actor=actor, needs="points")
    pin = staff_pin_for_operation(actor=actor, program=program, staff_pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
    return _points_void(
        actor=actor,
        card_ref=card_ref,
        points_to_void=points_to_void,
        original_transaction_id=original_transaction_id,
        order_reference=order_reference or None,
        pin=pin,
        notes=notes,
        now=now,
    )


@transaction.atomic
def _points_void(*, actor, card_ref, points_to_void, original_transaction_id, order_reference, pin, notes, now):
    card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
    original = None
    if original_transaction_id is not None or order_reference is not None:
        lookup = Q(pk=original_transaction_id) if original_transaction_id is not None else Q(order_reference=order_reference)
        original = LoyaltyTransaction.objects.filter(
            lookup, card=card, merchant=actor.merchant, type=TransactionType.POINTS_EARNED
        ).first()
        if original is None:
            raise TransactionNotFound()
        if original.voids.exists():
            raise AlreadyVoided(details={"original_transaction_id": original.pk})
        wanted = original.points_delta
    else:
        if card.points_balance == 0:
            raise NothingToVoid(details={"points_balance": 0})
        wanted = points_to_void
    voided = min(wanted, card.points_balance)
    card.points_balance -= voided
    card.total_points_voided += voided
    card.last_activity_at = now
    card.save(update_fields=["points_balance", "total_points_voided", "last_activity_at", "updated_at"])
    tx = ledger_record(
        card=card,
        actor=actor,
        type=TransactionType.POINTS_VOIDED,
        points_delta=-voided,
        voided_transaction=original,
        order_reference=original.order_reference if original else None,
        staff_pin=pin,
        notes=notes,
        now=now,
    )
    return PointsVoided(transaction=tx, card=card, points_voided=voided)


def points_adjust(
    *,
    actor: Actor,
    card_ref: CardRef,
    points_delta: int,
    reason: str,
    staff_pin: str | None = None,
    staff_pin_id: int | None = None,
    now: datetime | None = None,
) -> PointsAdjusted:
    """An owner's correction, with a reason; the balance never goes below zero."""
    if not actor.is_owner:
        raise PermissionDenied(_("Only the owner can adjust points."))
    errors = {}
    if not isinstance(points_delta, int) or points_delta == 0 or abs(points_delta) > MAX_ADJUSTMENT:
        errors["points_delta"] = [f"Must be a non-zero whole number from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}."]
    if not (reason or "").strip():
        errors["reason"] = ["A reason is required."]
    if errors:
        raise ValidationFailed(details=errors)
    now = now or timezone.now()
    program = program_for_operation(actor=actor, needs="points")
    pin = staff_pin_for_operation(actor=actor, program=program, staff_pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
    return _points_adjust(actor=actor, card_ref=card_ref, points_delta=points_delta, reason=reason.strip(), pin=pin, now=now)


@transaction.atomic
def _points_adjust(*, actor, card_ref, points_delta, reason, pin, now) -> PointsAdjusted:
    card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
    if card.points_balance + points_delta < 0:
        raise InsufficientPoints(details={"points_balance": card.points_balance, "points_delta": points_delta})
    # Adjustments change the balance only; the earned/voided totals stay those of operations.
    card.points_balance += points_delta
    card.last_activity_at = now
    card.save(update_fields=["points_balance", "last_activity_at", "updated_at"])
    tx = ledger_record(
        card=card, actor=actor, type=TransactionType.POINTS_ADJUSTED, points_delta=points_delta, staff_pin=pin, notes=reason, now=now
    )
    return PointsAdjusted(transaction=tx, card=card)


def points_expire(*, now: datetime | None = None, batch_size: int = 500) -> PointsExpiry:
    """Expire the balances of cards idle for their program's ``points_expiration_days``.

    A card's points expire at ``card_points_expire_at`` (its last activity,
    or enrollment for a card never used, plus the days): the one function
    the "points expiring" message reads too, so the warning and the expiry
    agree on the date. The moment is an instant, so the store's time zone
    does not move it. Each card is expired in its own short transaction under
    its row lock, re-checking the condition, so two overlapping runs never
    expire a balance twice, and a till operation waits at most one card's expiry.
    """
    now = now or timezone.now()
    cards = points = 0
    programs = Program.objects.filter(points_expiration_days__isnull=False).exclude(loyalty_type="stamps")
    for program in programs.select_related("merchant"):
        expired_by_now = cards_points_expiring_before(program=program, moment=now)
        candidate_ids = list(
            LoyaltyCard.objects.filter(expired_by_now, program=program, points_balance__gt=0).values_list("pk", flat=True)
        )
        for start in range(0, len(candidate_ids), batch_size):
            for card_id in candidate_ids[start : start + batch_size]:
                expired = _expire_card(program=program, card_id=card_id, now=now)
                if expired:
                    cards += 1
                    points += expired
    return PointsExpiry(cards=cards, points=points)


@transaction.atomic
def _expire_card(*, program: Program, card_id: int, now: datetime) -> int:
    card = card_qs_for_update(merchant=program.merchant).filter(pk=card_id).first()
    if card is None or card.points_balance == 0:
        return 0
    if card_points_expire_at(card=card, program=program) >= now:
        return 0  # used since the candidates were listed
    expired = card.points_balance
    card.points_balance = 0
    card.total_points_expired += expired
    card.save(update_fields=["points_balance", "total_points_expired", "updated_at"])
    ledger_record(
        card=card,
        actor=Actor.system(program.merchant),
        type=TransactionType.POINTS_EXPIRED,
        points_delta=-expired,
        notes=f"No activity for {program.points_expiration_days} days.",
        now=now,
    )
    return expired
