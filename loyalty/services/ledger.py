"""The one place that writes ledger rows and announces card changes to the wallets.

:func:`ledger_record` inserts through the ORM; :func:`ledger_record_sql` is the
same row, the same announcements, with one hand-written ``INSERT`` (the
till's stamp and earn, ``loyalty/raw_sql.py``).
"""

from datetime import datetime

from loyalty.domain.actors import Actor
from loyalty.models import LoyaltyCard, LoyaltyTransaction
from loyalty.raw_sql import row_insert
from loyalty.services.idempotency import idempotency_operation_recorded
from loyalty.services.wallet import card_change_announce


def ledger_record(*, card: LoyaltyCard, actor: Actor, type: str, now: datetime, **values) -> LoyaltyTransaction:
    """Append one row for an operation already applied to ``card`` (saved, same transaction).

    Also schedules the wallet update for after the commit, so a rolled-back
    operation never reaches a phone, and, in a request sent with an
    Idempotency-Key, marks the key executed in this same transaction.
    ``values``: the deltas, ``staff_pin``, ``purchase_amount_cents``, ``order_reference``,
    ``reward``, ``voided_transaction``, ``notes`` (see :func:`_row`).
    """
    tx = LoyaltyTransaction.objects.create(**_row(card=card, actor=actor, type=type, now=now, **values))
    return _recorded(tx, card)


def _row(
    *,
    card: LoyaltyCard,
    actor: Actor,
    type: str,
    now: datetime,
    stamps_delta: int = 0,
    points_delta: int = 0,
    staff_pin=None,
    purchase_amount_cents: int | None = None,
    order_reference: str | None = None,
    reward=None,
    voided_transaction: LoyaltyTransaction | None = None,
    notes: str = "",
) -> dict:
    return dict(
        card=card,
        merchant_id=card.merchant_id,
        store=actor.store,
        staff_pin=staff_pin,
        acting_user=actor.user,
        type=type,
        stamps_delta=stamps_delta,
        points_delta=points_delta,
        stamp_balance_after=card.stamp_count,
        points_balance_after=card.points_balance,
        purchase_amount_cents=purchase_amount_cents,
        order_reference=order_reference,
        reward=reward,
        voided_transaction=voided_transaction,
        ip_address=actor.ip_address,
        user_agent=(actor.user_agent or "")[:256],
        notes=notes,
        created_at=now,
    )


def _recorded(tx: LoyaltyTransaction, card: LoyaltyCard) -> LoyaltyTransaction:
    idempotency_operation_recorded(ledger_transaction=tx)
    card_change_announce(card_id=card.pk)
    return tx


_LEDGER_COLUMNS = tuple(field.attname for field in LoyaltyTransaction._meta.concrete_fields if not field.primary_key)


def ledger_record_sql(*, card: LoyaltyCard, actor: Actor, type: str, now: datetime, **values) -> LoyaltyTransaction:
    """:func:`ledger_record` with one hand-written ``INSERT``: every column, each prepared as the ORM would."""
    tx = LoyaltyTransaction(**_row(card=card, actor=actor, type=type, now=now, **values))
    row_insert(tx, _LEDGER_COLUMNS)
    return _recorded(tx, card)
