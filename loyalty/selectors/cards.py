"""Reading cards for the till and the back office: search, lookup, the scanner view, history.

Every selector takes the merchant and narrows through ``for_merchant``, so a
card of another merchant is "not found" (``CardNotFound``), never forbidden.
The scanner view answers "what may I do with this card now?" with the same
rules the stamp service enforces (``next_stamp_at``, the day's stamps of
``stamps_today_filter``), so what the till shows and what it is then allowed
cannot disagree.
"""

import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import accumulate

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, connections
from django.db.models import Q, QuerySet
from django.utils import timezone

from loyalty.domain.actors import Actor
from loyalty.domain.cards import CardRef
from loyalty.domain.identifiers import is_valid_card_number
from loyalty.domain.stamp_days import local_day_start, next_stamp_at
from loyalty.exceptions import CardNotFound, ProgramNotFound, StoreNotFound
from loyalty.models import (
    AlertStatus,
    Customer,
    LoyaltyCard,
    LoyaltyTransaction,
    Merchant,
    Program,
    Reward,
    Store,
    TransactionType,
)
from loyalty_site.db import prepared_fetch_all


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

    The hot read at the till, in one statement written once (``_SCANNER_SQL``):
    the card with its program, customer and home store, the stamps it got
    today, whether it has an open fraud alert and the active rewards its
    balance covers (one row per reward). Only the columns the view and its
    API answer read; the ORM would spend more time building this statement
    than the database spends running it (README "Performance").
    """
    now = now or timezone.now()
    if card_ref is not None:
        match = card_ref.lookup()
    else:
        match = _scanner_match(query)
    found = _scanner_read(actor=actor, now=now, match=match) if match else None
    if found is None:
        raise CardNotFound()
    card, stamps_today, has_open_alert, rewards = found
    return _scanner_view(
        card=card, now=now, stamps_today=stamps_today, has_open_alert=has_open_alert, rewards=rewards
    )


def _scanner_match(query: str | None) -> dict | None:
    """The card a till operator typed or scanned: a card number, the customer's e-mail address or the QR data."""
    query = (query or "").strip()
    if not query:
        return None
    if is_valid_card_number(query):
        return CardRef(card_number=query).lookup()
    if "@" in query:
        return {"customer_email": query}
    return CardRef(qr_code=query).lookup()


@dataclass(frozen=True)
class _Columns:
    """The columns of one model the scanner statement reads, in the model's field order (as ``from_db`` wants).

    ``start`` is the position of the first of them in the statement's rows.
    """

    model: type
    alias: str
    attnames: tuple[str, ...]
    start: int = 0

    @classmethod
    def of(cls, model, alias: str, *names: str) -> "_Columns":
        chosen = [each for each in model._meta.concrete_fields if each.attname in names or each.name in names]
        return cls(model, alias, tuple(each.attname for each in chosen))

    @property
    def end(self) -> int:
        return self.start + len(self.attnames)

    @property
    def fields(self) -> list:
        return [self.model._meta.get_field(attname) for attname in self.attnames]

    def sql(self) -> str:
        return ", ".join(f'{self.alias}."{field.column}"' for field in self.fields)

    def instance(self, row):
        """A model instance of these columns of ``row`` (the model's other columns deferred)."""
        return self.model.from_db(connection.alias, self.attnames, row[self.start : self.end])


def _laid_out(*models: _Columns) -> tuple[_Columns, ...]:
    starts = [0, *accumulate(len(columns.attnames) for columns in models)]
    return tuple(replace(columns, start=start) for columns, start in zip(models, starts))


_SCANNER_COLUMNS = _CARD, _PROGRAM, _CUSTOMER, _STORE, _REWARD = _laid_out(
    _Columns.of(
        LoyaltyCard, "c", "id", "created_at", "merchant", "program", "customer", "enrolled_store", "card_number",
        "stamp_count", "points_balance", "last_stamp_at", "last_activity_at", "is_active",
    ),
    _Columns.of(
        Program, "p", "id", "name", "loyalty_type", "stamps_target", "stamps_reward_description", "cooldown_minutes",
        "max_daily_stamps", "is_active",
    ),
    _Columns.of(Customer, "cu", "id", "email", "full_name", "phone", "preferred_language"),
    _Columns.of(Store, "s", "id", "code"),
    _Columns.of(Reward, "r", "id", "name", "points_required"),
)
_STAMPS_TODAY, _HAS_OPEN_ALERT = _REWARD.end, _REWARD.end + 1

_SCANNER_MATCH = {
    "pk": 'c."id" = %s',
    "card_number": 'c."card_number" = %s',
    "qr_code_data": 'c."qr_code_data" = %s',
    # The customer's unique index is on (LOWER(email), merchant); UPPER, as the ORM's iexact, could not use it.
    "customer_email": 'LOWER(cu."email") = LOWER(%s) AND cu."merchant_id" = c."merchant_id"',
}
# Plain SQL both PostgreSQL and SQLite run, narrowed to the actor's merchant as for_merchant does. Rewards are
# LEFT JOINed: one row per reward the balance covers (one row with NULLs when none), in the catalog's order; whether
# the program and card use them is _scanner_view's rule. The day's stamps follow stamps_today_filter's rule (the
# tests pin that both agree).
_SCANNER_SQL = f"""SELECT {", ".join(columns.sql() for columns in _SCANNER_COLUMNS)},
    (SELECT COUNT(*) FROM "loyalty_loyaltytransaction" t
      WHERE t."card_id" = c."id" AND t."type" = %s AND t."created_at" >= %s) AS "stamps_today",
    EXISTS (SELECT 1 FROM "loyalty_alert" a WHERE a."card_id" = c."id" AND a."status" = %s) AS "has_open_alert"
FROM "loyalty_loyaltycard" c
    INNER JOIN "loyalty_program" p ON p."id" = c."program_id"
    INNER JOIN "loyalty_customer" cu ON cu."id" = c."customer_id"
    LEFT OUTER JOIN "loyalty_store" s ON s."id" = c."enrolled_store_id"
    LEFT OUTER JOIN "loyalty_reward" r
        ON r."program_id" = c."program_id" AND r."is_active" AND r."points_required" <= c."points_balance"
WHERE c."merchant_id" = %s AND {{match}}
ORDER BY r."position", r."points_required", r."id"
"""
_SCANNER_STATEMENTS = {name: _SCANNER_SQL.format(match=condition) for name, condition in _SCANNER_MATCH.items()}


def _scanner_read(*, actor: Actor, now: datetime, match: dict) -> tuple[LoyaltyCard, int, bool, list[Reward]] | None:
    """The matching card (with its program, customer and home store), its stamps since the store's local
    midnight, its open-alert flag and the rewards its balance covers; ``None`` when no card matches."""
    ((name, value),) = match.items()
    day_start = connection.ops.adapt_datetimefield_value(local_day_start(actor=actor, now=now))
    params = [TransactionType.STAMP_EARNED.value, day_start, AlertStatus.OPEN.value, actor.merchant.pk, value]
    # Prepared (loyalty_site/db.py): planning this 5-table statement costs more than running it.
    rows = [_converted(row) for row in prepared_fetch_all(_SCANNER_STATEMENTS[name], params, binary=True)]
    if not rows:
        return None
    first = rows[0]
    card = _CARD.instance(first)
    card.program = _PROGRAM.instance(first)
    card.customer = _CUSTOMER.instance(first)
    card.enrolled_store = _STORE.instance(first) if first[_STORE.start] is not None else None
    rewards = [_REWARD.instance(row) for row in rows if row[_REWARD.start] is not None]
    return card, first[_STAMPS_TODAY], bool(first[_HAS_OPEN_ALERT]), rewards


# Per database connection, the converters of the statement's columns that have any (on SQLite: text to datetime,
# 0/1 to bool; none on PostgreSQL): finding them costs more than running the statement, so once per connection.
_CONVERTERS = weakref.WeakKeyDictionary()


def _converted(row: tuple) -> list:
    wrapper = connections[connection.alias]
    converters = _CONVERTERS.get(wrapper)
    if converters is None:
        converters = _CONVERTERS[wrapper] = _column_converters(wrapper)
    row = list(row)
    for index, converter, column in converters:
        row[index] = converter(row[index], column, wrapper)
    return row


def _column_converters(wrapper) -> list[tuple]:
    found = []
    for columns in _SCANNER_COLUMNS:
        for index, model_field in enumerate(columns.fields, start=columns.start):
            column = model_field.get_col(columns.alias)
            for converter in wrapper.ops.get_db_converters(column) + model_field.get_db_converters(wrapper):
                found.append((index, converter, column))
    return found


def _scanner_view(
    *, card: LoyaltyCard, now: datetime, stamps_today: int, has_open_alert: bool, rewards: list[Reward]
) -> ScannerView:
    """What the till may do with ``card`` right now, given its stamps since the store's local midnight.

    ``rewards``: the program's active rewards the card's points balance covers, offered when both are usable.
    """
    program = card.program
    usable = card.is_active and program.is_active
    cooldown_ends_at = None
    can_stamp = can_redeem_stamps = False
    if program.has_stamps:
        available_at = next_stamp_at(card=card, program=program)
        cooldown_ends_at = available_at if available_at is not None and available_at > now else None
        can_stamp = usable and cooldown_ends_at is None and stamps_today < program.max_daily_stamps
        can_redeem_stamps = usable and card.stamp_count >= program.stamps_target
    if not (program.has_points and usable):
        rewards = []
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
