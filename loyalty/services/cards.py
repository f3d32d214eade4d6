"""Naming and locking a card; who may manage which card; card status changes."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from loyalty.domain.actors import Actor
from loyalty.domain.cards import CardRef
from loyalty.exceptions import CardNotFound
from loyalty.lock_objects import card_qs_for_update
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Merchant, TransactionType
from loyalty.selectors.cards import cards_manageable_by
from loyalty.services.ledger import ledger_record


def card_get_locked(*, merchant: Merchant, card_ref: CardRef) -> LoyaltyCard:
    """Lock and return the merchant's card; another merchant's card is simply not found."""
    try:
        return card_qs_for_update(merchant=merchant).get(**card_ref.lookup())
    except LoyaltyCard.DoesNotExist:
        raise CardNotFound() from None


def _card_to_manage_locked(*, actor: Actor, card_ref: CardRef) -> LoyaltyCard:
    """Like :func:`card_get_locked`, and a card the actor may not manage is not found either."""
    cards = cards_manageable_by(card_qs_for_update(merchant=actor.merchant), user=actor.user, role=actor.role)
    try:
        return cards.get(**card_ref.lookup())
    except LoyaltyCard.DoesNotExist:
        raise CardNotFound() from None


@dataclass(frozen=True)
class CardStatusChanged:
    card: LoyaltyCard
    transaction: LoyaltyTransaction


@transaction.atomic
def card_deactivate(*, actor: Actor, card_ref: CardRef, reason: str, now: datetime | None = None) -> CardStatusChanged:
    now = now or timezone.now()
    card = _card_to_manage_locked(actor=actor, card_ref=card_ref)
    card.is_active = False
    card.deactivated_at = now
    card.deactivation_reason = reason[:200]
    card.save(update_fields=["is_active", "deactivated_at", "deactivation_reason", "updated_at"])
    tx = ledger_record(card=card, actor=actor, type=TransactionType.CARD_DEACTIVATED, notes=reason, now=now)
    return CardStatusChanged(card=card, transaction=tx)


@transaction.atomic
def card_reactivate(*, actor: Actor, card_ref: CardRef, reason: str = "", now: datetime | None = None) -> CardStatusChanged:
    now = now or timezone.now()
    card = _card_to_manage_locked(actor=actor, card_ref=card_ref)
    card.is_active = True
    card.deactivated_at = None
    card.deactivation_reason = ""
    card.save(update_fields=["is_active", "deactivated_at", "deactivation_reason", "updated_at"])
    tx = ledger_record(card=card, actor=actor, type=TransactionType.CARD_REACTIVATED, notes=reason, now=now)
    return CardStatusChanged(card=card, transaction=tx)
