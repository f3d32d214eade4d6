"""Reading cards for the till and the back office: search, lookup, the scanner view, history.

Every selector takes the merchant and narrows through ``for_merchant``, so a
card of another merchant is "not found" (``CardNotFound``), never forbidden.
The scanner view answers "what may I do with this card now?" with the same
rules the stamp service enforces (``next_stamp_at``, ``stamps_today_filter``),
so what the till shows and what it is then allowed cannot disagree.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty.domain.actors import Actor
from loyalty.domain.cards import CardRef
from loyalty.domain.identifiers import is_valid_card_number
from loyalty.domain.stamp_days import next_stamp_at, stamps_today_filter
from loyalty.exceptions import CardNotFound, ProgramNotFound, StoreNotFound
from loyalty.models import Alert, AlertStatus, LoyaltyCard, LoyaltyTransaction, Merchant, Program, Reward, Store


def _cards(merchant: Merchant) -> QuerySet:
    return LoyaltyCard.objects.for_merchant(merchant).select_related("program", "customer", "enrolled_store")


def card_list(
    *,
    merchant: Merchant,
    search: str = "",
    is_active: bool | None = None,
    enrolled_store: Store | None = None,
) -> QuerySet:
    """The merchant's cards, newest first; ``search`` matches name, e-mail, phone or card number."""
    cards = _cards(merchant)
    search = (search or "").strip()
    if search:
        cards = cards.filter(
            Q(customer__full_name__icontains=search)
            | Q(customer__email__icontains=search)
            | Q(customer__phone__icontains=search)
            | Q(card_number__startswith=search)
        )
    if is_active is not None:
        cards = cards.filter(is_active=is_active)
    if enrolled_store is not None:
        cards = cards.filter(enrolled_store=enrolled_store)
    return cards.order_by("-created_at", "-pk")


def card_get(*, merchant: Merchant, card_ref: CardRef) -> LoyaltyCard:
    return _first(_cards(merchant).filter(**card_ref.lookup()))


def _matching(cards: QuerySet, merchant: Merchant, query: str) -> QuerySet:
    """The card a till operator typed or scanned: a card number, the QR data, or the customer's e-mail."""
    query = (query or "").strip()
    if not query:
        return cards.none()
    if is_valid_card_number(query):
        return cards.filter(**CardRef(card_number=query).lookup())
    if "@" in query:
        return cards.filter(customer__email__iexact=query, program__merchant=merchant)
    return cards.filter(**CardRef(qr_code=query).lookup())


def _first(cards: QuerySet) -> LoyaltyCard:
    card = cards.first()
    if card is None:
        raise CardNotFound()
    return card


@dataclass(frozen=True)
class ScannerView:
    card: LoyaltyCard
    program: Program
    can_stamp: bool
    cooldown_ends_at: datetime | None
    stamps_today: int
    max_daily_stamps: int
    can_redeem_stamps: bool
    available_rewards: list[Reward] = field(default_factory=list)
    has_open_alert: bool = False  # a flag only: the alert's details are for the back office


def card_scanner_lookup(
    *, actor: Actor, query: str | None = None, card_ref: CardRef | None = None, now: datetime | None = None
) -> ScannerView:
    """The scanner view of the card a till typed or scanned (``query``) or named (``card_ref``).

    The hot read at the till: the card (with its program and customer), the
    stamps it got today and whether it has an open fraud alert come in one
    statement, the rewards its balance covers in a second (points programs only).
    """
    now = now or timezone.now()
    today = LoyaltyTransaction.objects.filter(stamps_today_filter(actor=actor, now=now), card=OuterRef("pk"))
    stamps_today = Subquery(today.order_by().values("card").annotate(count=Count("pk")).values("count"))
    open_alert = Alert.objects.filter(card=OuterRef("pk"), status=AlertStatus.OPEN)
    cards = _cards(actor.merchant).annotate(stamps_today=Coalesce(stamps_today, 0), has_open_alert=Exists(open_alert))
    if card_ref is not None:
        card = _first(cards.filter(**card_ref.lookup()))
    else:
        card = _first(_matching(cards, actor.merchant, query))
    return _scanner_view(card=card, now=now, stamps_today=card.stamps_today, has_open_alert=card.has_open_alert)


def _scanner_view(*, card: LoyaltyCard, now: datetime, stamps_today: int, has_open_alert: bool) -> ScannerView:
    """What the till may do with ``card`` right now, given its stamps since the store's local midnight."""
    program = card.program
    usable = card.is_active and program.is_active
    cooldown_ends_at = None
    can_stamp = can_redeem_stamps = False
    if program.has_stamps:
        available_at = next_stamp_at(card=card, program=program)
        cooldown_ends_at = available_at if available_at is not None and available_at > now else None
        can_stamp = usable and cooldown_ends_at is None and stamps_today < program.max_daily_stamps
        can_redeem_stamps = usable and card.stamp_count >= program.stamps_target
    rewards = []
    if program.has_points and usable:
        rewards = list(Reward.objects.filter(program=program, is_active=True, points_required__lte=card.points_balance))
    return ScannerView(
        card=card,
        program=program,
        can_stamp=can_stamp,
        cooldown_ends_at=cooldown_ends_at,
        stamps_today=stamps_today if program.has_stamps else 0,
        max_daily_stamps=program.max_daily_stamps,
        can_redeem_stamps=can_redeem_stamps,
        available_rewards=rewards,
        has_open_alert=has_open_alert,
    )


@dataclass(frozen=True)
class CardWallets:
    apple_pass_issued: bool
    apple_devices_registered: int
    google_wallet_saved: bool
    needs_sync: bool


def card_wallets(*, card: LoyaltyCard) -> CardWallets:
    """Whether the card is in a wallet, read through the wallet rows' reverse relations."""
    try:
        apple_pass = card.apple_pass
    except ObjectDoesNotExist:
        apple_pass = None
    devices = 0
    if apple_pass is not None:
        devices = apple_pass.registrations.filter(unregistered_at__isnull=True).count()
    try:
        google_saved = card.google_object is not None
    except ObjectDoesNotExist:
        google_saved = False
    return CardWallets(
        apple_pass_issued=apple_pass is not None,
        apple_devices_registered=devices,
        google_wallet_saved=google_saved,
        needs_sync=card.wallet_needs_sync,
    )


def _transactions(merchant: Merchant) -> QuerySet:
    return (
        LoyaltyTransaction.objects.for_merchant(merchant)
        .select_related("card", "store", "staff_pin", "reward")
        .order_by("-created_at", "-pk")
    )


def card_transactions(*, merchant: Merchant, card_ref: CardRef) -> QuerySet:
    """The card's ledger, newest first (``CardNotFound`` for another merchant's card)."""
    card = card_get(merchant=merchant, card_ref=card_ref)
    return _transactions(merchant).filter(card=card)


def transaction_list(
    *,
    merchant: Merchant,
    store_code: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    """The merchant's ledger, newest first; ``since`` inclusive, ``until`` exclusive."""
    transactions = _transactions(merchant)
    if store_code:
        transactions = transactions.filter(store__code=store_code)
    if type:
        transactions = transactions.filter(type=type)
    if since is not None:
        transactions = transactions.filter(created_at__gte=since)
    if until is not None:
        transactions = transactions.filter(created_at__lt=until)
    return transactions


def storefront_get(*, store_code: str) -> tuple[Store, Program]:
    """The active store with this public code and its merchant's active program (where cards are issued)."""
    store = Store.objects.select_related("merchant").filter(code=store_code, is_active=True).first()
    if store is None or not store.merchant.is_active:
        raise StoreNotFound()
    program = Program.objects.filter(merchant=store.merchant, is_active=True).first()
    if program is None:
        raise ProgramNotFound()
    return store, program


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
