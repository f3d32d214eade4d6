"""Reads for the customer pages (join, card, poster).

The public pages enter through an identifier that is unique across the
platform (a store's public code, a card's ``public_token``); from there every
read is scoped to that store's or card's merchant, so nothing of another
merchant can come along.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from loyalty.models import LoyaltyCard, LoyaltyTransaction, Program, Reward, Store
from loyalty.selectors.settings import merchant_settings_get
from loyalty.selectors.wallet import card_get_by_public_token

RECENT_ACTIVITY_LIMIT = 10


class JoinAvailability(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the merchant turned self-enrollment off
    UNAVAILABLE = "unavailable"  # store, merchant or program inactive, or no program yet


@dataclass(frozen=True)
class JoinPage:
    store: Store
    program: Program | None
    availability: JoinAvailability
    rewards: list[Reward] = field(default_factory=list)

    @property
    def merchant(self):
        return self.store.merchant

    @property
    def is_open(self) -> bool:
        return self.availability == JoinAvailability.OPEN


def join_page_get(*, store_code: str) -> JoinPage | None:
    """What the join page and the poster show for a store code; ``None`` when no store has it."""
    store = Store.objects.select_related("merchant").filter(code=store_code).first()
    if store is None:
        return None
    merchant = store.merchant
    program = Program.objects.for_merchant(merchant).first()
    if program is None or not (store.is_active and merchant.is_active and program.is_active):
        return JoinPage(store=store, program=program, availability=JoinAvailability.UNAVAILABLE)
    if not merchant_settings_get(merchant=merchant).self_enrollment_open:
        return JoinPage(store=store, program=program, availability=JoinAvailability.CLOSED)
    return JoinPage(
        store=store,
        program=program,
        availability=JoinAvailability.OPEN,
        rewards=program_rewards(program=program),
    )


def program_rewards(*, program: Program) -> list[Reward]:
    """The active catalog of a points program, cheapest first within the merchant's order."""
    if not program.has_points:
        return []
    return list(Reward.objects.for_merchant(program.merchant_id).filter(program=program, is_active=True))


@dataclass(frozen=True)
class CardPage:
    card: LoyaltyCard
    program: Program
    rewards: list[Reward]
    recent_activity: list[LoyaltyTransaction]

    @property
    def affordable_rewards(self) -> list[Reward]:
        return [reward for reward in self.rewards if reward.points_required <= self.card.points_balance]


def card_page_get(*, public_token: str) -> CardPage | None:
    """The card behind a card-page token with what its page shows; ``None`` when unknown.

    A card of a deactivated merchant is treated as unknown: the page would
    promise rewards nobody can give.
    """
    card = card_get_by_public_token(public_token=public_token)
    if card is None:
        return None
    return CardPage(
        card=card,
        program=card.program,
        rewards=program_rewards(program=card.program),
        recent_activity=card_recent_activity(card=card),
    )


def card_recent_activity(*, card: LoyaltyCard, limit: int = RECENT_ACTIVITY_LIMIT) -> list[LoyaltyTransaction]:
    return list(
        LoyaltyTransaction.objects.for_merchant(card.merchant_id)
        .filter(card=card)
        .select_related("store", "reward")
        .order_by("-created_at", "-id")[:limit]
    )


def card_for_link_email(*, merchant, card_id: int) -> LoyaltyCard | None:
    """The merchant's card to which a card-link e-mail goes (after ``AlreadyEnrolled``)."""
    return LoyaltyCard.objects.for_merchant(merchant).select_related("customer", "program").filter(pk=card_id).first()


def stores_open_for_joining(*, merchant_slugs: list[str]) -> list[Store]:
    """The active stores of these merchants (when active themselves), for links to their join pages."""
    return list(
        Store.objects.select_related("merchant")
        .filter(merchant__slug__in=merchant_slugs, merchant__is_active=True, is_active=True)
        .order_by("merchant__name", "name")
    )
