"""Naming and locking a card; who may manage which card; card status changes."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import CardNotFound, ValidationFailed
from loyalty.lock_objects import card_qs_for_update
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Merchant, Store, TransactionType
from loyalty.services.context import Actor
from loyalty.services.identifiers import is_valid_card_number
from loyalty.services.ledger import ledger_record


@dataclass(frozen=True)
class CardRef:
    """A card named by exactly one of its id, QR data or card number."""

    card_id: int | None = None
    qr_code: str | None = None
    card_number: str | None = None

    def __post_init__(self):
        given = [name for name in ("card_id", "qr_code", "card_number") if getattr(self, name) not in (None, "")]
        if len(given) != 1:
            raise ValidationFailed(
                _("Name the card by exactly one of card_id, qr_code or card_number."),
                details={"card": [str(_("Give exactly one of card_id, qr_code, card_number."))]},
            )
        if self.card_number not in (None, "") and not is_valid_card_number(self.card_number):
            raise ValidationFailed(
                _("This is not a valid card number (check the digits)."),
                details={"card_number": [str(_("Not a valid card number."))]},
            )

    def lookup(self) -> dict:
        if self.card_id is not None:
            return {"pk": self.card_id}
        if self.qr_code:
            return {"qr_code_data": self.qr_code}
        return {"card_number": self.card_number}


def card_get_locked(*, merchant: Merchant, card_ref: CardRef) -> LoyaltyCard:
    """Lock and return the merchant's card; another merchant's card is simply not found."""
    try:
        return card_qs_for_update(merchant=merchant).get(**card_ref.lookup())
    except LoyaltyCard.DoesNotExist:
        raise CardNotFound() from None


def cards_manageable_by(cards: QuerySet, *, user, role: str | None) -> QuerySet:
    """``cards`` narrowed to those ``user`` may manage: see in the back office, deactivate, reactivate.

    The one rule of the back office and the store API alike. Owners, platform
    administrators and the system (no role) manage every card of the merchant;
    a manager the cards whose home store (where the customer enrolled) is one
    of the stores of their membership. Till operations are not narrowed by it:
    a card earns and spends at every store of its merchant.
    """
    if role is None or role == "owner":
        return cards
    their_stores = Store.objects.filter(memberships__user=user, memberships__is_active=True)
    return cards.filter(enrolled_store__in=their_stores)


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
