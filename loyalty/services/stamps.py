"""Stamp rules: add (cooldown, daily limit), redeem a reward, void.

Cooldown: at least ``program.cooldown_minutes`` between two stamps on a card.
Daily limit: at most ``program.max_daily_stamps`` stamps per card per local
calendar day of the store where the stamp is given, counted across all stores
of the merchant. Voided stamps still count towards the day's limit, so a
stamp-void-stamp loop cannot exceed it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from loyalty.domain.actors import Actor
from loyalty.domain.cards import CardRef
from loyalty.domain.stamp_days import local_day_start, next_stamp_at, stamps_today_filter
from loyalty.exceptions import (
    AlreadyVoided,
    CardInactive,
    CardNotFound,
    DailyStampLimit,
    InsufficientStamps,
    NothingToVoid,
    StampCooldown,
    TransactionNotFound,
    ValidationFailed,
)
from loyalty.lock_objects import card_lock_sql
from loyalty.models import LoyaltyCard, LoyaltyTransaction, TransactionType
from loyalty.raw_sql import datetime_parameter, row_update, table
from loyalty.services.automatic_messages import reward_ready_note
from loyalty.services.cards import card_get_locked
from loyalty.services.ledger import ledger_record, ledger_record_sql
from loyalty.services.operations import program_for_operation, staff_pin_for_operation
from loyalty_site.db import prepared_fetch_one


@dataclass(frozen=True)
class StampAdded:
    transaction: LoyaltyTransaction
    card: LoyaltyCard
    reward_earned: bool
    stamps_today: int
    max_daily_stamps: int
    next_stamp_available_at: datetime | None


@dataclass(frozen=True)
class StampsRedeemed:
    transaction: LoyaltyTransaction
    card: LoyaltyCard


@dataclass(frozen=True)
class StampsVoided:
    transaction: LoyaltyTransaction
    card: LoyaltyCard
    stamps_voided: int


STAMP_ADD_FIELDS = ("stamp_count", "total_stamps_earned", "last_stamp_at", "last_activity_at", "updated_at")


def stamps_given_today(*, card: LoyaltyCard, actor: Actor, now: datetime) -> int:
    return LoyaltyTransaction.objects.filter(stamps_today_filter(actor=actor, now=now), card=card).count()


def stamps_given_today_sql(*, card: LoyaltyCard, actor: Actor, now: datetime) -> int:
    """:func:`stamps_given_today` as one hand-written statement (the same rows as ``stamps_today_filter``)."""
    statement = (
        f"SELECT COUNT(*) FROM {table(LoyaltyTransaction)} WHERE card_id = %s AND type = %s AND created_at >= %s"
    )
    since = datetime_parameter(local_day_start(actor=actor, now=now))
    return prepared_fetch_one(statement, [card.pk, TransactionType.STAMP_EARNED.value, since])[0]


def _ensure_active(card: LoyaltyCard) -> None:
    if not card.is_active:
        raise CardInactive()


def stamp_add(
    *,
    actor: Actor,
    card_ref: CardRef,
    staff_pin: str | None = None,
    staff_pin_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> StampAdded:
    now = now or timezone.now()
    program = program_for_operation(actor=actor, needs="stamps")
    pin = staff_pin_for_operation(actor=actor, program=program, staff_pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
    return stamp_add_locked(actor=actor, card_ref=card_ref, program=program, pin=pin, notes=notes, now=now)


@transaction.atomic
def _stamp_add(*, actor, card_ref, program, pin, notes, now) -> StampAdded:
    """The ORM version of :func:`_stamp_add_sql`: the reference the same tests run against."""
    card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
    _stamp_check_card(card=card, program=program, now=now)
    today = stamps_given_today(card=card, actor=actor, now=now)
    _stamp_check_day(program=program, today=today)
    _stamp_apply(card=card, now=now)
    card.save(update_fields=STAMP_ADD_FIELDS)
    tx = ledger_record(
        card=card, actor=actor, type=TransactionType.STAMP_EARNED, stamps_delta=1, staff_pin=pin, notes=notes, now=now
    )
    return _stamp_added(tx=tx, card=card, program=program, today=today)


@transaction.atomic
def _stamp_add_sql(*, actor, card_ref, program, pin, notes, now) -> StampAdded:
    """A stamp in four hand-written statements: lock the card, count the day's stamps, update, insert the row.

    The till's hottest path (README "Performance"); the rules are :func:`_stamp_add`'s, shared.
    """
    card = card_lock_sql(merchant=actor.merchant, lookup=card_ref.lookup())
    if card is None:
        raise CardNotFound()
    if card.program_id == program.pk:
        card.program = program  # the merchant's one program, read already: no second read for the answer
    _stamp_check_card(card=card, program=program, now=now)
    today = stamps_given_today_sql(card=card, actor=actor, now=now)
    _stamp_check_day(program=program, today=today)
    _stamp_apply(card=card, now=now)
    row_update(card, STAMP_ADD_FIELDS)
    tx = ledger_record_sql(
        card=card, actor=actor, type=TransactionType.STAMP_EARNED, stamps_delta=1, staff_pin=pin, notes=notes, now=now
    )
    return _stamp_added(tx=tx, card=card, program=program, today=today)


# The till runs the SQL version; the ORM one is its reference (tests/loyalty/services/test_stamps.py runs on both).
stamp_add_locked = _stamp_add_sql


def _stamp_check_card(*, card, program, now) -> None:
    """The card's own rules: active, cooled down since its last stamp."""
    _ensure_active(card)
    available_at = next_stamp_at(card=card, program=program)
    if available_at is not None and now < available_at:
        raise StampCooldown(
            details={
                "next_stamp_available_at": available_at,  # a time: the API writes it in the store's zone
                "retry_after_seconds": max(int((available_at - now).total_seconds()) + 1, 1),
            }
        )


def _stamp_check_day(*, program, today: int) -> None:
    if today >= program.max_daily_stamps:
        raise DailyStampLimit(details={"stamps_today": today, "max_daily_stamps": program.max_daily_stamps})


def _stamp_apply(*, card, now) -> None:
    card.stamp_count += 1
    card.total_stamps_earned += 1
    card.last_stamp_at = card.last_activity_at = now


def _stamp_added(*, tx, card, program, today) -> StampAdded:
    """After the card is saved and its row written, inside the transaction: the "reward ready" claim, the answer."""
    reward_ready_note(
        card=card, stamps_before=card.stamp_count - 1, points_before=card.points_balance, ledger_row=tx, program=program
    )
    return StampAdded(
        transaction=tx,
        card=card,
        reward_earned=card.stamp_count >= program.stamps_target,
        stamps_today=today + 1,
        max_daily_stamps=program.max_daily_stamps,
        next_stamp_available_at=next_stamp_at(card=card, program=program),
    )


def stamps_redeem(
    *,
    actor: Actor,
    card_ref: CardRef,
    staff_pin: str | None = None,
    staff_pin_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> StampsRedeemed:
    now = now or timezone.now()
    program = program_for_operation(actor=actor, needs="stamps")
    pin = staff_pin_for_operation(actor=actor, program=program, staff_pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
    return _stamps_redeem(actor=actor, card_ref=card_ref, program=program, pin=pin, notes=notes, now=now)


@transaction.atomic
def _stamps_redeem(*, actor, card_ref, program, pin, notes, now) -> StampsRedeemed:
    card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
    _ensure_active(card)
    if card.stamp_count < program.stamps_target:
        raise InsufficientStamps(details={"stamp_count": card.stamp_count, "stamps_target": program.stamps_target})
    card.stamp_count -= program.stamps_target
    card.stamps_redeemed += 1
    card.last_redemption_at = card.last_activity_at = now
    card.save(update_fields=["stamp_count", "stamps_redeemed", "last_redemption_at", "last_activity_at", "updated_at"])
    tx = ledger_record(
        card=card,
        actor=actor,
        type=TransactionType.STAMP_REDEEMED,
        stamps_delta=-program.stamps_target,
        staff_pin=pin,
        notes=notes,
        now=now,
    )
    return StampsRedeemed(transaction=tx, card=card)


def stamps_void(
    *,
    actor: Actor,
    card_ref: CardRef,
    stamps_to_void: int | None = None,
    original_transaction_id: int | None = None,
    staff_pin: str | None = None,
    staff_pin_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> StampsVoided:
    """Take stamps back, by count or by naming the stamp transaction to undo.

    The count never goes below zero: the result says how many were actually
    voided. A stamp transaction is voided at most once (database constraint).
    """
    if (stamps_to_void is None) == (original_transaction_id is None):
        raise ValidationFailed(details={"void": ["Give exactly one of stamps_to_void, original_transaction_id."]})
    if stamps_to_void is not None and stamps_to_void < 1:
        raise ValidationFailed(details={"stamps_to_void": ["Must be at least 1."]})
    now = now or timezone.now()
    program = program_for_operation(actor=actor, needs="stamps")
    pin = staff_pin_for_operation(actor=actor, program=program, staff_pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
    return _stamps_void(
        actor=actor,
        card_ref=card_ref,
        stamps_to_void=stamps_to_void,
        original_transaction_id=original_transaction_id,
        pin=pin,
        notes=notes,
        now=now,
    )


@transaction.atomic
def _stamps_void(*, actor, card_ref, stamps_to_void, original_transaction_id, pin, notes, now) -> StampsVoided:
    card = card_get_locked(merchant=actor.merchant, card_ref=card_ref)
    original = None
    if original_transaction_id is not None:
        original = LoyaltyTransaction.objects.filter(
            pk=original_transaction_id, card=card, type=TransactionType.STAMP_EARNED
        ).first()
        if original is None:
            raise TransactionNotFound()
        if original.voids.exists():
            raise AlreadyVoided(details={"original_transaction_id": original.pk})
        wanted = original.stamps_delta
    else:
        wanted = stamps_to_void
        if card.stamp_count == 0:
            raise NothingToVoid(details={"stamp_count": 0})
    voided = min(wanted, card.stamp_count)
    card.stamp_count -= voided
    card.total_stamps_voided += voided
    card.last_activity_at = now
    card.save(update_fields=["stamp_count", "total_stamps_voided", "last_activity_at", "updated_at"])
    tx = ledger_record(
        card=card,
        actor=actor,
        type=TransactionType.STAMP_VOIDED,
        stamps_delta=-voided,
        staff_pin=pin,
        voided_transaction=original,
        notes=notes,
        now=now,
    )
    return StampsVoided(transaction=tx, card=card, stamps_voided=voided)
