"""GDPR requests: export a customer's data, erase their personal data.

Erasing anonymises the ``Customer`` row only. The ledger is append-only and
holds no name or e-mail, so every balance and every statistic stays exactly
as it was; the customer's cards are deactivated (through the card service, so
the ledger records it and wallets are told) because nobody can be reached or
identified behind them any more.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.domain.actors import Actor
from loyalty.domain.cards import CardRef
from loyalty.exceptions import NotFound, PermissionDenied
from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, Merchant
from loyalty.services.cards import card_deactivate

ERASED_EMAIL_DOMAIN = "erased.invalid"  # a reserved TLD: never deliverable


class CustomerNotFound(NotFound):
    code = "CUSTOMER_NOT_FOUND"
    message = _("No customer with this id.")


@dataclass(frozen=True)
class CustomerErased:
    customer: Customer
    cards_deactivated: int
    already_erased: bool = False


def customer_get(*, merchant: Merchant, customer_id: int) -> Customer:
    customer = Customer.objects.for_merchant(merchant).filter(pk=customer_id).first()
    if customer is None:
        raise CustomerNotFound()
    return customer


def _iso(value):
    return value.isoformat() if value is not None else None


def customer_export(*, merchant: Merchant, customer_id: int) -> dict:
    """Everything we hold about the customer, as JSON-ready data (Art. 15/20 GDPR).

    Card identifiers that act as credentials (QR data, card-page token) are
    left out: the export may travel by e-mail.
    """
    customer = customer_get(merchant=merchant, customer_id=customer_id)
    cards = LoyaltyCard.objects.filter(customer=customer).select_related("program", "enrolled_store").order_by("pk")
    transactions = (
        LoyaltyTransaction.objects.filter(card__customer=customer)
        .select_related("store", "reward", "card")
        .order_by("created_at", "pk")
    )
    return {
        "exported_at": timezone.now().isoformat(),
        "merchant": {"name": merchant.name, "contact_email": merchant.contact_email},
        "customer": {
            "id": customer.pk,
            "email": customer.email,
            "full_name": customer.full_name,
            "phone": customer.phone,
            "preferred_language": customer.preferred_language,
            "birthday": (
                {"day": customer.birthday_day, "month": customer.birthday_month}
                if customer.birthday_month is not None
                else None
            ),
            "marketing_consent": customer.marketing_consent,
            "marketing_consent_at": _iso(customer.marketing_consent_at),
            "marketing_consent_withdrawn_at": _iso(customer.marketing_consent_withdrawn_at),
            "terms_accepted_at": _iso(customer.terms_accepted_at),
            "created_at": _iso(customer.created_at),
            "erased_at": _iso(customer.erased_at),
        },
        "cards": [
            {
                "card_number": card.card_number,
                "program": card.program.name,
                "enrolled_at_store": card.enrolled_store.name if card.enrolled_store else None,
                "created_at": _iso(card.created_at),
                "is_active": card.is_active,
                "stamp_count": card.stamp_count,
                "points_balance": card.points_balance,
                "last_activity_at": _iso(card.last_activity_at),
            }
            for card in cards
        ],
        "transactions": [
            {
                "card_number": tx.card.card_number,
                "created_at": _iso(tx.created_at),
                "type": tx.type,
                "store": tx.store.name if tx.store else None,
                "stamps_delta": tx.stamps_delta,
                "points_delta": tx.points_delta,
                "stamp_balance_after": tx.stamp_balance_after,
                "points_balance_after": tx.points_balance_after,
                "purchase_amount_cents": tx.purchase_amount_cents,
                "order_reference": tx.order_reference,
                "reward": tx.reward.name if tx.reward else None,
                "notes": tx.notes,
            }
            for tx in transactions.iterator(chunk_size=500)
        ],
    }


@transaction.atomic
def customer_erase(*, actor: Actor, customer_id: int, now: datetime | None = None) -> CustomerErased:
    """Anonymise the customer (Art. 17 GDPR); the ledger's numbers stay intact."""
    if not actor.is_owner:
        raise PermissionDenied(_("Only the owner can erase a customer's data."))
    now = now or timezone.now()
    customer = Customer.objects.for_merchant(actor.merchant).select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise CustomerNotFound()
    if customer.erased_at is not None:
        return CustomerErased(customer=customer, cards_deactivated=0, already_erased=True)
    customer.email = f"erased-{customer.pk}@{ERASED_EMAIL_DOMAIN}"
    customer.full_name = ""
    customer.phone = ""
    customer.birthday_month = customer.birthday_day = None
    customer.marketing_consent = False
    customer.marketing_consent_at = None
    customer.erased_at = now
    customer.save(
        update_fields=[
            "email",
            "full_name",
            "phone",
            "birthday_month",
            "birthday_day",
            "marketing_consent",
            "marketing_consent_at",
            "erased_at",
            "updated_at",
        ]
    )
    deactivated = 0
    for card_id in LoyaltyCard.objects.filter(customer=customer, is_active=True).values_list("pk", flat=True):
        card_deactivate(
            actor=actor, card_ref=CardRef(card_id=card_id), reason="Customer's personal data erased.", now=now
        )
        deactivated += 1
    return CustomerErased(customer=customer, cards_deactivated=deactivated)
