"""The one place that writes ledger rows and announces card changes to the wallets."""

from datetime import datetime

from loyalty.domain.actors import Actor
from loyalty.models import LoyaltyCard, LoyaltyTransaction
from loyalty.services.idempotency import idempotency_operation_recorded
from loyalty.services.wallet import card_change_announce


def ledger_record(
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
) -> LoyaltyTransaction:
    """Append one row for an operation already applied to ``card`` (saved, same transaction).

    Also schedules the wallet update for after the commit, so a rolled-back
    operation never reaches a phone, and, in a request sent with an
    Idempotency-Key, marks the key executed in this same transaction.
    """
    tx = LoyaltyTransaction.objects.create(
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
    idempotency_operation_recorded(ledger_transaction=tx)
    card_change_announce(card_id=card.pk)
    return tx
