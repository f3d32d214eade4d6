"""Automatic messages: welcome, reward ready, points expiring, we miss you, and the birthday with its bonus.

Each is switched on per merchant in the back office (``MerchantSettings``),
with the merchant's own text per language or the translated default. Every
sending is claimed first by inserting its ``AutomaticMessageDelivery`` row,
unique per (card, kind, period), so nothing is sent twice, whatever runs at
the same time or again:

- **Reward ready** — period: the ledger row that crossed. The services that
  add stamps or points (and the birthday bonus) call
  :func:`reward_ready_note` inside their transaction with the balances
  before; it claims a row when the card *crosses* its stamp target or the
  points of the cheapest active reward (before < threshold <= after), so
  operations on a card already past it send nothing. The message leaves
  after commit (task ``loyalty.send_automatic_messages_for_card``).
- **Points expiring** — period: the expiry moment, which moves only with
  activity. Cards whose points expire (``card_points_expire_at``, the same
  function the daily expiry job uses) within ``points_expiring_days``.
- **We miss you** — period: the date of the last activity (or enrollment).
  Cards idle for ``we_miss_you_days``.
- **Birthday** — period: the year. On the customer's day and month in the
  merchant's time zone (29 February is celebrated on 28 February in other
  years), from the morning's first run in the sending window; with the
  merchant's bonus written to the ledger as one ``BONUS`` row, in the same
  transaction as the claim, under the card's row lock.
- **Welcome** — see :func:`welcome_note`: it is the card-link e-mail itself.

The job ``loyalty.send_automatic_messages`` (every 15 minutes) does, for each
active merchant whose local time is in the sending window
(``LOYALTY_CAMPAIGN_WINDOW_*``, as campaigns): claim at most ``batch_size``
new rows per kind, then deliver at most ``batch_size`` pending rows (reward
ready messages earned outside the window wait there for the morning).
Overlapping runs are safe: claims are unique rows, and a pending row is
delivered only by whoever moves it to "sent" with one conditional UPDATE.

Channels: every pass of the card (Apple shows the text as news, with a
lock-screen alert) and, only with marketing consent, an e-mail with the
one-click unsubscribe of campaigns. A refused e-mail is recorded (its error's
class) and not tried again: the passes already have the message.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty.domain.actors import Actor
from loyalty.exceptions import ValidationFailed
from loyalty.lock_objects import card_qs_for_update
from loyalty.models import (
    AutomaticMessageDelivery,
    AutomaticMessageKind,
    AutomaticMessageStatus,
    DeliveryChannel,
    LoyaltyCard,
    LoyaltyTransaction,
    Merchant,
    MerchantSettings,
    TransactionType,
)
from loyalty.selectors.automatic_messages import (
    automatic_message_text,
    card_points_expire_at,
    cards_points_expiring_before,
    cheapest_reward_points,
)
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.campaigns import (
    campaign_window_open_at,
    card_message_deliver,
    merchant_time_zone,
)
from loyalty.services.ledger import ledger_record

logger = logging.getLogger(__name__)

AUTOMATIC_BATCH_SIZE = 500
Kind = AutomaticMessageKind
MESSAGE_CHANNELS = (DeliveryChannel.EMAIL, DeliveryChannel.APPLE, DeliveryChannel.GOOGLE)
MAX_BONUS_STAMPS = 100
MAX_BONUS_POINTS = 100_000


@dataclass(frozen=True)
class AutomaticMessage:
    """One kind of automatic message of one merchant, as ``card_message_deliver`` sends it."""

    merchant: Merchant
    merchant_settings: MerchantSettings
    kind: str
    link_url: str = ""
    wallet_message_id: str = ""  # its id on a Google pass: one per delivery row

    def text_for(self, language: str | None) -> str:
        return automatic_message_text(merchant_settings=self.merchant_settings, kind=self.kind, language=language)


def automatic_message_enabled(*, merchant_settings: MerchantSettings | None, kind: str) -> bool:
    return merchant_settings is not None and bool(getattr(merchant_settings, f"{kind}_message_enabled"))


def _settings_if_any(merchant_id: int) -> MerchantSettings | None:
    """The merchant's settings row, or None: a merchant without one has every message off (its default).

    Read, not created, on the till's and enrollment's paths.
    """
    return MerchantSettings.objects.filter(merchant_id=merchant_id).first()


def _claim(*, card: LoyaltyCard, kind: str, period_key: str, now: datetime) -> bool:
    """Insert the (card, kind, period) row; False when it exists (already sent, or being sent, by someone)."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on after a conflict
            AutomaticMessageDelivery.objects.create(
                merchant_id=card.merchant_id, card=card, kind=kind, period_key=period_key, created_at=now
            )
    except IntegrityError:
        return False
    return True


def _enqueue_card_delivery(card_id: int) -> None:
    from loyalty.tasks import send_automatic_messages_for_card  # tasks import services, not the reverse at load

    transaction.on_commit(lambda: send_automatic_messages_for_card.delay(card_id))


# --- Reward ready ------------------------------------------------------------------------------------------------


def reward_ready_note(
    *, card: LoyaltyCard, stamps_before: int, points_before: int, ledger_row: LoyaltyTransaction, program=None
) -> bool:
    """Claim the "reward ready" message when this operation took the card across a reward's threshold.

    Called inside the operation's transaction, after the card is saved: a
    rolled-back operation claims nothing. True when a message was claimed.
    ``program`` from ``program_for_operation`` carries the merchant's switch
    and the cheapest reward already (no query); without it they are read.
    """
    program = program or card.program
    crossed_stamps = program.has_stamps and stamps_before < program.stamps_target <= card.stamp_count
    may_cross_points = program.has_points and card.points_balance > points_before
    if not (crossed_stamps or may_cross_points):
        return False
    if hasattr(program, "reward_ready_message_enabled"):
        is_enabled = bool(program.reward_ready_message_enabled)
    else:
        merchant_settings = _settings_if_any(card.merchant_id)
        is_enabled = automatic_message_enabled(merchant_settings=merchant_settings, kind=Kind.REWARD_READY)
    if not is_enabled:
        return False
    if not crossed_stamps:
        if hasattr(program, "cheapest_reward_points"):
            cheapest = program.cheapest_reward_points
        else:
            cheapest = cheapest_reward_points(program=program)
        if cheapest is None or not points_before < cheapest <= card.points_balance:
            return False
    if not _claim(card=card, kind=Kind.REWARD_READY, period_key=f"tx:{ledger_row.pk}", now=ledger_row.created_at):
        return False
    _enqueue_card_delivery(card.pk)
    return True


# --- Welcome -----------------------------------------------------------------------------------------------------


def welcome_note(*, card: LoyaltyCard, now: datetime) -> bool:
    """Claim the welcome of a new card when the merchant has it on; True when the welcome e-mail must leave.

    The welcome *is* the e-mail with the card's link
    (``loyalty.services.notifications``): the caller sends it at once, and
    that e-mail carries the welcome text while this row is pending. It is
    transactional (the customer needs the link), so it goes without
    marketing consent; it goes to no wallet (a pass is installed after it),
    and nothing more follows once the pass is installed. With the welcome
    off, the link is e-mailed only when the enrollment needs it (the
    address belonged to a customer already), without welcome text.
    """
    merchant_settings = _settings_if_any(card.merchant_id)
    if not automatic_message_enabled(merchant_settings=merchant_settings, kind=Kind.WELCOME):
        return False
    return _claim(card=card, kind=Kind.WELCOME, period_key="enrollment", now=now)


def welcome_text_take(*, card: LoyaltyCard, language: str, now: datetime | None = None) -> str:
    """The welcome text for the card-link e-mail being sent, once: "" when there is no pending welcome."""
    now = now or timezone.now()
    taken = AutomaticMessageDelivery.objects.filter(
        card=card, kind=Kind.WELCOME, status=AutomaticMessageStatus.PENDING
    ).update(status=AutomaticMessageStatus.SENT, sent_at=now, email_result="sent")
    if not taken:
        return ""
    merchant_settings = merchant_settings_get(merchant=card.program.merchant)
    return automatic_message_text(merchant_settings=merchant_settings, kind=Kind.WELCOME, language=language)


# --- Bonus -------------------------------------------------------------------------------------------------------


@transaction.atomic
def card_bonus_add(
    *, merchant: Merchant, card_id: int, stamps: int = 0, points: int = 0, notes: str, now: datetime | None = None
) -> LoyaltyTransaction | None:
    """A gift from the merchant (the birthday's): the balances grow, one ``BONUS`` row, under the card's lock.

    Only what the program counts is given (stamps to a stamp program, points
    to a points program); None when that leaves nothing. A bonus changes the
    balances, not the "earned" counters (they count operations), and is not
    the customer's activity: it moves neither the expiry date nor "we miss you".
    """
    if not (0 <= stamps <= MAX_BONUS_STAMPS and 0 <= points <= MAX_BONUS_POINTS):
        raise ValidationFailed(
            details={"bonus": [f"Stamps from 0 to {MAX_BONUS_STAMPS}, points from 0 to {MAX_BONUS_POINTS}."]}
        )
    now = now or timezone.now()
    card = card_qs_for_update(merchant=merchant).filter(pk=card_id, is_active=True).first()
    if card is None:
        return None
    program = card.program
    stamps = stamps if program.has_stamps else 0
    points = points if program.has_points else 0
    if not (stamps or points):
        return None
    stamps_before, points_before = card.stamp_count, card.points_balance
    card.stamp_count += stamps
    card.points_balance += points
    card.save(update_fields=["stamp_count", "points_balance", "updated_at"])
    row = ledger_record(
        card=card,
        actor=Actor.system(merchant),
        type=TransactionType.BONUS,
        stamps_delta=stamps,
        points_delta=points,
        notes=notes,
        now=now,
    )
    reward_ready_note(card=card, stamps_before=stamps_before, points_before=points_before, ledger_row=row)
    return row


# --- The job -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutomaticMessagesRun:
    merchants: int = 0
    claimed: int = 0
    delivered: int = 0
    bonuses: int = 0


def birthday_matches(*, today: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated on ``today``: 29 February's on 28 February outside leap years."""
    matches = [(today.month, today.day)]
    is_leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    if (today.month, today.day) == (2, 28) and not is_leap:
        matches.append((2, 29))
    return matches


def _new_cards(merchant: Merchant, kind: str):
    """The merchant's active cards without a row of ``kind`` since their last activity (or enrollment)."""
    already = AutomaticMessageDelivery.objects.filter(
        card=OuterRef("pk"), kind=kind, created_at__gte=Coalesce(OuterRef("last_activity_at"), OuterRef("created_at"))
    )
    return (
        LoyaltyCard.objects.filter(merchant=merchant, is_active=True, program__is_active=True)
        .exclude(Exists(already))
        .select_related("program")
        .order_by("pk")
    )


def _claim_points_expiring(merchant, merchant_settings, now, batch_size) -> int:
    program = getattr(merchant, "program", None)
    if program is None or not program.has_points or program.points_expiration_days is None:
        return 0
    warn_before = now + timedelta(days=merchant_settings.points_expiring_days)
    cards = (
        _new_cards(merchant, Kind.POINTS_EXPIRING)
        .filter(cards_points_expiring_before(program=program, moment=warn_before), points_balance__gt=0)
        .exclude(cards_points_expiring_before(program=program, moment=now))  # expired already: the job's
    )
    claimed = 0
    for card in cards[:batch_size]:
        expire_at = card_points_expire_at(card=card, program=program)
        claimed += _claim(card=card, kind=Kind.POINTS_EXPIRING, period_key=expire_at.isoformat(), now=now)
    return claimed


def _claim_we_miss_you(merchant, merchant_settings, now, batch_size) -> int:
    idle_since = now - timedelta(days=merchant_settings.we_miss_you_days)
    cards = (
        _new_cards(merchant, Kind.WE_MISS_YOU)
        .annotate(last_seen_at=Coalesce("last_activity_at", "created_at"))
        .filter(last_seen_at__lt=idle_since)
    )
    claimed = 0
    for card in cards[:batch_size]:
        last = card.last_activity_at or card.created_at
        claimed += _claim(card=card, kind=Kind.WE_MISS_YOU, period_key=last.date().isoformat(), now=now)
    return claimed


@transaction.atomic
def _celebrate(*, merchant, merchant_settings, card_id: int, year: int, now: datetime) -> tuple[bool, bool]:
    """Claim one card's birthday of ``year`` and give its bonus, all or nothing; (claimed, bonus given)."""
    card = card_qs_for_update(merchant=merchant).filter(pk=card_id, is_active=True).first()
    if card is None or not _claim(card=card, kind=Kind.BIRTHDAY, period_key=str(year), now=now):
        return False, False
    bonus = card_bonus_add(
        merchant=merchant,
        card_id=card.pk,
        stamps=merchant_settings.birthday_bonus_stamps,
        points=merchant_settings.birthday_bonus_points,
        notes="Birthday bonus.",
        now=now,
    )
    return True, bonus is not None


def _claim_birthdays(merchant, merchant_settings, now, batch_size, today: date) -> tuple[int, int]:
    year_key = str(today.year)
    already = AutomaticMessageDelivery.objects.filter(card=OuterRef("pk"), kind=Kind.BIRTHDAY, period_key=year_key)
    cards = LoyaltyCard.objects.filter(merchant=merchant, is_active=True, program__is_active=True).exclude(
        Exists(already)
    )
    matching = None
    for month, day in birthday_matches(today=today):
        query = cards.filter(customer__birthday_month=month, customer__birthday_day=day)
        matching = query if matching is None else matching | query
    claimed = bonuses = 0
    for card_id in matching.order_by("pk").values_list("pk", flat=True)[:batch_size]:
        was_claimed, bonus_given = _celebrate(
            merchant=merchant, merchant_settings=merchant_settings, card_id=card_id, year=today.year, now=now
        )
        claimed += was_claimed
        bonuses += bonus_given
    return claimed, bonuses


def _deliver(row: AutomaticMessageDelivery, merchant_settings: MerchantSettings, connection, now: datetime) -> bool:
    """Send one pending row, if this call is the one that moves it to "sent"."""
    claimed = AutomaticMessageDelivery.objects.filter(pk=row.pk, status=AutomaticMessageStatus.PENDING).update(
        status=AutomaticMessageStatus.SENT, sent_at=now
    )
    if not claimed:
        return False  # another run has it
    message = AutomaticMessage(
        merchant=row.merchant, merchant_settings=merchant_settings, kind=row.kind,
        wallet_message_id=f"automatic-{row.pk}",
    )
    results = card_message_deliver(card=row.card, message=message, channels=MESSAGE_CHANNELS, connection=connection)
    AutomaticMessageDelivery.objects.filter(pk=row.pk).update(email_result=results[DeliveryChannel.EMAIL])
    logger.info(
        "automatic_message.sent",
        extra={
            "card_id": row.card_id, "kind": row.kind,
            "email": results[DeliveryChannel.EMAIL], "google": results[DeliveryChannel.GOOGLE],
        },
    )
    return True


def _deliver_pending(pending, merchant_settings, now, batch_size) -> int:
    rows = list(
        pending.exclude(kind=Kind.WELCOME)  # the welcome leaves with the card-link e-mail
        .select_related("merchant", "card__customer", "card__program")
        .order_by("pk")[:batch_size]
    )
    if not rows:
        return 0
    delivered = 0
    connection = get_connection()
    with connection:
        for row in rows:
            delivered += _deliver(row, merchant_settings, connection, now)
    return delivered


def _window_is_open(merchant: Merchant, now: datetime) -> tuple[bool, date]:
    zone = merchant_time_zone(merchant)
    return campaign_window_open_at(now, zone) == now, now.astimezone(zone).date()


def automatic_messages_run(
    *, now: datetime | None = None, batch_size: int = AUTOMATIC_BATCH_SIZE
) -> AutomaticMessagesRun:
    """The job: for each merchant in its sending window, claim what is due (bounded) and deliver what is pending."""
    now = now or timezone.now()
    totals = {"merchants": 0, "claimed": 0, "delivered": 0, "bonuses": 0}
    settings_rows = MerchantSettings.objects.filter(merchant__is_active=True).select_related("merchant__program")
    for merchant_settings in settings_rows.order_by("merchant_id"):
        merchant = merchant_settings.merchant
        is_open, today = _window_is_open(merchant, now)
        if not is_open:
            continue
        totals["merchants"] += 1
        if automatic_message_enabled(merchant_settings=merchant_settings, kind=Kind.BIRTHDAY):
            claimed, bonuses = _claim_birthdays(merchant, merchant_settings, now, batch_size, today)
            totals["claimed"] += claimed
            totals["bonuses"] += bonuses
        if automatic_message_enabled(merchant_settings=merchant_settings, kind=Kind.POINTS_EXPIRING):
            totals["claimed"] += _claim_points_expiring(merchant, merchant_settings, now, batch_size)
        if automatic_message_enabled(merchant_settings=merchant_settings, kind=Kind.WE_MISS_YOU):
            totals["claimed"] += _claim_we_miss_you(merchant, merchant_settings, now, batch_size)
        pending = AutomaticMessageDelivery.objects.filter(merchant=merchant, status=AutomaticMessageStatus.PENDING)
        totals["delivered"] += _deliver_pending(pending, merchant_settings, now, batch_size)
    result = AutomaticMessagesRun(**totals)
    logger.info("automatic_messages.run", extra=totals)
    return result


def automatic_messages_deliver_for_card(*, card_id: int, now: datetime | None = None) -> int:
    """Right after an operation claimed a message: send the card's pending ones if its merchant's window is open.

    Outside the window they stay pending; the job sends them when it opens.
    """
    now = now or timezone.now()
    card = LoyaltyCard.objects.select_related("merchant").filter(pk=card_id).first()
    if card is None:
        return 0
    is_open, _today = _window_is_open(card.merchant, now)
    if not is_open:
        return 0
    merchant_settings = merchant_settings_get(merchant=card.merchant)
    pending = AutomaticMessageDelivery.objects.filter(card_id=card_id, status=AutomaticMessageStatus.PENDING)
    return _deliver_pending(pending, merchant_settings, now, AUTOMATIC_BATCH_SIZE)
