"""Campaigns: a merchant's message to its card holders, written, scheduled, cancelled and sent.

The back office calls :func:`campaign_create`, :func:`campaign_update`,
:func:`campaign_schedule` and :func:`campaign_cancel` (owners and managers);
the Celery task ``loyalty.send_campaign`` calls :func:`campaign_send`, and the
beat job ``loyalty.start_due_campaigns`` calls :func:`campaigns_due_start`
every minute.

Time zone: a time typed without a zone is read in the merchant's zone, which
is the zone of its first store (lowest id, the one it opened with), or the
project's ``TIME_ZONE`` when it has no store yet. Limits, in that zone: at
most ``LOYALTY_CAMPAIGNS_PER_DAY`` campaigns scheduled on a day, and none
leaves outside ``LOYALTY_CAMPAIGN_WINDOW_START_HOUR``–``…_END_HOUR``: a
campaign scheduled (or sent "now") outside waits until the window opens.

Sending is resumable and never sends twice. :func:`campaign_send` holds
the campaign with a lease (``Campaign.lease_until``, renewed after each
batch), first writes one delivery row per card and channel that reaches it
(bulk, conflicts ignored: the unique constraint makes a re-run add only the
missing rows), then works through the pending rows in batches: Google
Wallet, Apple Wallet, then e-mail. A worker killed mid-campaign leaves the
lease to lapse; the minute job (:func:`campaigns_due_start`) then queues the
campaign again and the new run takes up the rows still pending.

Wallet rows are claimed one by one (``claimed_at``, a conditional UPDATE)
and marked once the wallet answered; a claim older than the lease is a dead
run's and is taken again. Wallet deliveries are safe to repeat (the Apple
pass is the same pass again; a Google message is added once per id, see
``wallet.google.messages``), so a crash between the call and the mark loses
nothing and doubles nothing. Each e-mail row is claimed with one conditional
UPDATE (pending → sent) before the e-mail leaves, so two workers, or a worker
restarted after being killed, never send it again: a crash between the claim
and the SMTP answer loses that one e-mail rather than sending it twice.

A refused e-mail, or a wallet that cannot be reached now (APNs or Google
unavailable, 5xx, 429 other than Google's notification quota), leaves its
row pending with the reason; the campaign stays "sending" and the task
retries later (bounded backoff) until ``CAMPAIGN_MAX_ATTEMPTS``, after which
the row is "failed". A refusal that a retry cannot fix fails the row at once.

Google Wallet: for "all active cards", one ``addMessage`` on the program's
class; for any other audience one per card's object, ``TEXT_AND_NOTIFY``
within Google's three notifications per pass a day and ``TEXT`` past them
(``wallet.google.messages``). Apple Wallet: the pass shows the campaign's
text in a "News" back field whose ``changeMessage`` is the text itself
(``loyalty.selectors.wallet.card_news_get``); its tag moves and its devices
get a push.

E-mail goes only to customers with marketing consent (others are "skipped",
with the reason); it is multipart: plain text (``templates/loyalty/email/campaign*.txt``,
``{% autoescape off %}`` as the card-link e-mail) and HTML (``campaign.html``, escaped
as usual), and carries a one-click
unsubscribe link (RFC 8058: ``List-Unsubscribe`` and ``List-Unsubscribe-Post``).
"""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loyalty.domain.actors import Actor
from loyalty.exceptions import (
    CampaignDailyLimit,
    CampaignNotChangeable,
    CampaignNotFound,
    PermissionDenied,
    ValidationFailed,
)
from loyalty.models import (
    AdminAuditLog,
    Campaign,
    CampaignAudience,
    CampaignDelivery,
    CampaignStatus,
    Customer,
    DeliveryChannel,
    DeliveryStatus,
    LoyaltyCard,
    Merchant,
    Program,
    Store,
)
from loyalty.models.campaigns import CAMPAIGN_LANGUAGES
from loyalty.selectors.campaigns import campaign_cards
from loyalty.services.audit import audit_record, changes_between
from loyalty.services.wallet import (
    campaign_apple_deliver,
    campaign_google_class_deliver,
    campaign_google_object_deliver,
    campaign_wallet_cards,
    card_change_announce,
    card_google_message_reachable,
)

logger = logging.getLogger(__name__)

# A refused e-mail, or a wallet not reachable now, is tried again by the task's retries (with backoff)
# up to this many times in all.
CAMPAIGN_MAX_ATTEMPTS = 4
# A wallet answering "not now" this many times in a row is down: the rest of its rows wait for the next attempt.
WALLET_OUTAGE_AFTER = 20
CAMPAIGN_FIELDS = (
    *(f"text_{code}" for code in CAMPAIGN_LANGUAGES),
    "link_url",
    "audience",
    "audience_days",
    "audience_store",
)
UNSUBSCRIBE_SALT = "loyalty.campaigns.unsubscribe"


def _ensure_campaign_author(actor: Actor) -> None:
    if not (actor.is_owner or actor.role == "manager"):
        raise PermissionDenied()


def merchant_time_zone(merchant: Merchant) -> zoneinfo.ZoneInfo:
    """The zone a merchant's times are typed in: its first store's, else the project's."""
    store = Store.objects.for_merchant(merchant).order_by("pk").first()
    return store.zone if store is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)


def campaign_window_open_at(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """``moment`` if campaigns may leave then, else when the merchant's sending window next opens."""
    local = moment.astimezone(zone)
    start, end = settings.LOYALTY_CAMPAIGN_WINDOW_START_HOUR, settings.LOYALTY_CAMPAIGN_WINDOW_END_HOUR
    if start <= local.hour < end:
        return moment
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return datetime.combine(day, time(hour=start), tzinfo=zone)


def _ensure_day_has_room(campaign: Campaign, send_at: datetime, zone: zoneinfo.ZoneInfo) -> None:
    day = send_at.astimezone(zone).date()
    day_start = datetime.combine(day, time(), tzinfo=zone)
    taken = (
        Campaign.objects.for_merchant(campaign.merchant_id)
        .filter(
            status__in=(CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.SENT),
            scheduled_at__gte=day_start,
            scheduled_at__lt=day_start + timedelta(days=1),
        )
        .exclude(pk=campaign.pk)
        .count()
    )
    if taken >= settings.LOYALTY_CAMPAIGNS_PER_DAY:
        raise CampaignDailyLimit(details={"day": day.isoformat()})


def _campaign_locked(*, merchant: Merchant, campaign_id: int) -> Campaign:
    campaign = Campaign.objects.for_merchant(merchant).select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignNotFound()
    return campaign


def _snapshot(campaign: Campaign) -> dict:
    names = (*CAMPAIGN_FIELDS, "status", "scheduled_at")
    return {name: getattr(campaign, "audience_store_id" if name == "audience_store" else name) for name in names}


def _apply(campaign: Campaign, fields: dict) -> None:
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationFailed(details={name: ["Unknown field."] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(campaign, name, value)
    errors: dict[str, list[str]] = {}
    try:
        campaign.full_clean(exclude=["merchant", "created_by"])
    except DjangoValidationError as error:
        errors.update(error.message_dict)
    if not any(campaign.text_for(code) for code in CAMPAIGN_LANGUAGES):
        errors.setdefault("text_en", []).append(str(_("Write the message in at least one language.")))
    audience = CampaignAudience(campaign.audience) if campaign.audience in CampaignAudience.values else None
    if audience is not None and audience.needs_days and not campaign.audience_days:
        errors.setdefault("audience_days", []).append(str(_("This audience needs a number of days.")))
    if audience is not None and audience.needs_store and campaign.audience_store_id is None:
        errors.setdefault("audience_store", []).append(str(_("This audience needs a store.")))
    if campaign.audience_store_id is not None and campaign.audience_store.merchant_id != campaign.merchant_id:
        errors.setdefault("audience_store", []).append(str(_("No store of yours matches.")))
    if errors:
        raise ValidationFailed(details=errors)


def _audit(actor: Actor, action: str, campaign: Campaign, what: str, changes: dict | None = None) -> None:
    audit_record(
        actor=actor.user,
        action=action,
        obj=campaign,
        merchant=campaign.merchant,
        summary=f"campaign {what}",
        changes=changes,
        ip_address=actor.ip_address,
    )


@transaction.atomic
def campaign_create(*, actor: Actor, **fields) -> Campaign:
    """A draft campaign of the actor's merchant; it leaves only once scheduled."""
    _ensure_campaign_author(actor)
    campaign = Campaign(merchant=actor.merchant, created_by=actor.user if getattr(actor.user, "pk", None) else None)
    _apply(campaign, fields)
    campaign.save()
    _audit(actor, AdminAuditLog.Action.CREATE, campaign, "created", changes_between({}, _snapshot(campaign)))
    return campaign


@transaction.atomic
def campaign_update(*, actor: Actor, campaign_id: int, **fields) -> Campaign:
    _ensure_campaign_author(actor)
    campaign = _campaign_locked(merchant=actor.merchant, campaign_id=campaign_id)
    if not campaign.can_be_changed:
        raise CampaignNotChangeable()
    before = _snapshot(campaign)
    _apply(campaign, fields)
    campaign.save()
    changes = changes_between(before, _snapshot(campaign))
    if changes:
        _audit(actor, AdminAuditLog.Action.CHANGE, campaign, "changed", changes)
    return campaign


@transaction.atomic
def campaign_schedule(
    *, actor: Actor, campaign_id: int, send_at: datetime | None = None, now: datetime | None = None
) -> Campaign:
    """Send the campaign at ``send_at`` (a naive time is in the merchant's zone), or now when it is None or past."""
    _ensure_campaign_author(actor)
    now = now or timezone.now()
    campaign = _campaign_locked(merchant=actor.merchant, campaign_id=campaign_id)
    if not campaign.can_be_changed:
        raise CampaignNotChangeable()
    zone = merchant_time_zone(actor.merchant)
    if send_at is not None and timezone.is_naive(send_at):
        send_at = timezone.make_aware(send_at, zone)
    send_at = campaign_window_open_at(max(send_at, now) if send_at is not None else now, zone)
    # The merchant's row serialises schedulings, so two at once cannot both take the day's last place.
    Merchant.objects.select_for_update().filter(pk=actor.merchant.pk).first()
    _ensure_day_has_room(campaign, send_at, zone)
    before = _snapshot(campaign)
    campaign.scheduled_at = send_at
    campaign.status = CampaignStatus.SCHEDULED
    campaign.save(update_fields=["scheduled_at", "status", "updated_at"])
    _audit(actor, AdminAuditLog.Action.ACTION, campaign, "scheduled", changes_between(before, _snapshot(campaign)))
    if campaign.scheduled_at <= now:
        _enqueue_send(campaign.pk)
    return campaign


@transaction.atomic
def campaign_cancel(*, actor: Actor, campaign_id: int, now: datetime | None = None) -> Campaign:
    """Cancel a draft or scheduled campaign; one that has started sending can no longer be cancelled."""
    _ensure_campaign_author(actor)
    campaign = _campaign_locked(merchant=actor.merchant, campaign_id=campaign_id)
    if not campaign.can_be_changed:
        raise CampaignNotChangeable()
    before = _snapshot(campaign)
    campaign.status = CampaignStatus.CANCELLED
    campaign.cancelled_at = now or timezone.now()
    campaign.save(update_fields=["status", "cancelled_at", "updated_at"])
    _audit(actor, AdminAuditLog.Action.ACTION, campaign, "cancelled", changes_between(before, _snapshot(campaign)))
    return campaign


def _enqueue_send(campaign_id: int) -> None:
    from loyalty.tasks import send_campaign  # tasks import services, not the other way round at load time

    transaction.on_commit(lambda: send_campaign.delay(campaign_id))


def campaigns_due_start(*, now: datetime | None = None) -> int:
    """Every minute: queue the sending of each scheduled campaign whose time has come, and resume the stranded.

    A campaign is stranded when it is "sending" but the run that held it
    died (a worker killed or restarted mid-campaign): its lease has lapsed.
    Queuing twice is harmless: :func:`campaign_send` takes a campaign only
    when no live run holds it, and claims each row.
    """
    now = now or timezone.now()
    due = Q(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
    stranded = Q(status=CampaignStatus.SENDING, lease_until__lt=timezone.now())
    campaign_ids = list(Campaign.objects.filter(due | stranded).values_list("pk", flat=True))
    for campaign_id in campaign_ids:
        _enqueue_send(campaign_id)
    return len(campaign_ids)


@dataclass(frozen=True)
class CampaignSent:
    campaign_id: int
    status: str
    emails_sent: int = 0
    emails_failed: int = 0
    apple_sent: int = 0
    google_sent: int = 0
    has_retries_pending: bool = False


def _lease() -> timedelta:
    return timedelta(seconds=settings.LOYALTY_CAMPAIGN_LEASE_SECONDS)


def _claim_start(campaign_id: int, now: datetime) -> Campaign | None:
    """The campaign to send, now held by this run; None when it must not be sent or another run holds it.

    A scheduled campaign whose time has come moves to "sending"; one already
    sending is taken only if no run holds it (its lease is empty or lapsed:
    the run that held it died).
    """
    lease_until = timezone.now() + _lease()
    started = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SCHEDULED, scheduled_at__lte=now).update(
        status=CampaignStatus.SENDING, started_at=now, lease_until=lease_until
    )
    if not started:
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
        if not Campaign.objects.filter(free, pk=campaign_id, status=CampaignStatus.SENDING).update(
            lease_until=lease_until
        ):
            return None
    return Campaign.objects.select_related("merchant").filter(pk=campaign_id, status=CampaignStatus.SENDING).first()


def _lease_renew(campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(lease_until=timezone.now() + _lease())


def _delivery_rows_insert(campaign: Campaign, channel: str, card_ids: list[int]) -> None:
    """Pending rows of ``channel`` for ``card_ids``; rows already there are left as they are.

    One ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per batch (PostgreSQL and
    SQLite alike): building a model instance per row cost ten times the
    database's work for a campaign to 100,000 cards (``make bench``).
    """
    if not card_ids:
        return
    meta, cards = CampaignDelivery._meta, LoyaltyCard._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(meta.get_field(name).column)
        for name in ("campaign", "card", "channel", "status", "error", "created_at", "attempts")
    )
    placeholders = ", ".join(["%s"] * len(card_ids))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "
        f"SELECT %s, {quote(cards.pk.column)}, %s, %s, '', %s, 0 FROM {quote(cards.db_table)} "
        f"WHERE {quote(cards.pk.column)} IN ({placeholders}) ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        created_at = connection.ops.adapt_datetimefield_value(timezone.now())
        cursor.execute(sql, [campaign.pk, channel, DeliveryStatus.PENDING, created_at, *card_ids])


def _write_delivery_rows(campaign: Campaign, *, now: datetime, batch_size: int) -> int:
    """One delivery row per card of the audience and channel that reaches it (rows already there are kept).

    Every card gets an e-mail row (skipped without consent), which is also
    what makes its passes show the campaign as news
    (``loyalty.selectors.wallet.card_news_get``); cards with an Apple pass on a
    device get an Apple row, cards saved to Google Wallet a Google row.
    """
    last_card_id = 0
    cards = campaign_cards(campaign=campaign, now=now)
    total = 0
    while True:
        card_ids = list(cards.filter(pk__gt=last_card_id).values_list("pk", flat=True)[:batch_size])
        if not card_ids:
            return total
        reach = campaign_wallet_cards(card_ids=card_ids)
        _delivery_rows_insert(campaign, DeliveryChannel.EMAIL, card_ids)
        _delivery_rows_insert(campaign, DeliveryChannel.APPLE, reach["apple"])
        _delivery_rows_insert(campaign, DeliveryChannel.GOOGLE, reach["google"])
        _lease_renew(campaign)
        total += len(card_ids)
        last_card_id = card_ids[-1]


def unsubscribe_token(customer: Customer) -> str:
    return signing.dumps(customer.pk, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(customer: Customer) -> str:
    with translation.override(customer.preferred_language or settings.LANGUAGE_CODE):
        return settings.SITE_URL + reverse("loyalty:unsubscribe", kwargs={"token": unsubscribe_token(customer)})


def _email_message(message, customer: Customer, connection) -> EmailMultiAlternatives:
    language = customer.preferred_language or settings.LANGUAGE_CODE
    url = unsubscribe_url(customer)
    with translation.override(language):
        context = {
            "merchant": message.merchant,
            "text": message.text_for(language),
            "link_url": message.link_url,
            "unsubscribe_url": url,
        }
        # One line whatever the merchant's name holds: a line break in a subject is a header injection.
        subject = " ".join(render_to_string("loyalty/email/campaign_subject.txt", context).split())
        body = render_to_string("loyalty/email/campaign.txt", context)
        html = render_to_string("loyalty/email/campaign.html", {**context, "subject": subject, "language": language})
    message = EmailMultiAlternatives(
        subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [customer.email],
        connection=connection,
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(html, "text/html")
    return message


def email_skip_reason(customer: Customer) -> str | None:
    """Why a marketing e-mail must not go to this customer ("erased", "no_consent"), or None."""
    if customer.erased_at is not None:
        return "erased"
    if not customer.marketing_consent:
        return "no_consent"
    return None


def card_message_deliver(*, card: LoyaltyCard, message, channels, connection=None) -> dict[str, str]:
    """Send ``message`` to the holder of ``card`` on each of ``channels``; what happened on each.

    The one door for "this message, this card": campaigns (for their e-mail)
    and automatic messages (for everything) come through here, so a channel
    is added in one place. ``message`` has ``merchant``, ``link_url`` and
    ``text_for(language)`` (a :class:`Campaign`, or an automatic message).

    - ``EMAIL``: "sent", or why not: the consent rule (:func:`email_skip_reason`),
      or the class of the mail server's refusal (its text names the address).
      The caller claims the delivery first, so a retry never sends it twice.
    - ``APPLE``: the card's pass is told (after commit) it changed; it shows
      the latest message as news (``card_news_get``), with a push.
    - ``GOOGLE``: the message is added to the card's Google pass under
      ``message.wallet_message_id`` (within Google's 3 alerts a day, as a
      campaign's); "no_pass" when the card was never saved to Google Wallet.
    """
    results: dict[str, str] = {}
    if DeliveryChannel.EMAIL in channels:
        customer = card.customer
        reason = email_skip_reason(customer)
        if reason is not None:
            results[DeliveryChannel.EMAIL] = reason
        else:
            try:
                _email_message(message, customer, connection).send()
            except Exception as error:  # noqa: BLE001 - a refusal is this card's failure, not the caller's
                results[DeliveryChannel.EMAIL] = type(error).__name__[:100]
            else:
                results[DeliveryChannel.EMAIL] = "sent"
    if DeliveryChannel.APPLE in channels:
        card_change_announce(card_id=card.pk)
        results[DeliveryChannel.APPLE] = "sent"
    if DeliveryChannel.GOOGLE in channels:
        results[DeliveryChannel.GOOGLE] = _google_card_message(card, message)
    return results


def _google_card_message(card: LoyaltyCard, message) -> str:
    if not card_google_message_reachable(card_id=card.pk):
        return "no_pass"
    outcome = campaign_google_object_deliver(card_id=card.pk, check_first=False, **_google_message(message))
    return outcome.status if outcome.status != DeliveryStatus.SENT else "sent"


def _send_email_batch(
    campaign: Campaign, deliveries: list[CampaignDelivery], connection, now: datetime
) -> tuple[int, int]:
    sent = failed = 0
    for delivery in deliveries:
        pending = CampaignDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
        reason = email_skip_reason(delivery.card.customer)
        if reason is not None:
            pending.update(status=DeliveryStatus.SKIPPED, error=reason)
            continue
        if not pending.update(status=DeliveryStatus.SENT, sent_at=now, attempts=F("attempts") + 1):
            continue  # another worker has it
        result = card_message_deliver(
            card=delivery.card, message=campaign, channels=(DeliveryChannel.EMAIL,), connection=connection
        )[DeliveryChannel.EMAIL]
        if result != "sent":
            # Pending again for the task's next attempt, until the attempts run out.
            is_final = delivery.attempts + 1 >= CAMPAIGN_MAX_ATTEMPTS
            CampaignDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED if is_final else DeliveryStatus.PENDING,
                sent_at=None,
                error=result,
            )
            logger.warning(
                "campaign.email_failed",
                extra={"campaign_id": campaign.pk, "card_id": delivery.card_id, "error": result},
            )
            failed += 1
        else:
            sent += 1
    return sent, failed


def _send_emails(campaign: Campaign, *, batch_size: int) -> tuple[int, int]:
    pending = (
        CampaignDelivery.objects.filter(campaign=campaign, channel=DeliveryChannel.EMAIL, status=DeliveryStatus.PENDING)
        .select_related("card__customer")
        .order_by("pk")
    )
    sent = failed = 0
    last_delivery_id = 0
    connection = get_connection()
    with connection:
        while True:
            batch = list(pending.filter(pk__gt=last_delivery_id)[:batch_size])
            if not batch:
                return sent, failed
            batch_sent, batch_failed = _send_email_batch(campaign, batch, connection, timezone.now())
            sent += batch_sent
            failed += batch_failed
            last_delivery_id = batch[-1].pk
            _lease_renew(campaign)


def _row_outcome_write(rows, outcome, *, now: datetime) -> None:
    """Write a wallet's answer on pending rows (a queryset); "retry" leaves them pending until the attempts run out."""
    if outcome.status == "retry":
        rows.filter(attempts__gte=CAMPAIGN_MAX_ATTEMPTS - 1).update(
            status=DeliveryStatus.FAILED, error=outcome.reason, attempts=F("attempts") + 1, claimed_at=None
        )
        rows.update(error=outcome.reason, attempts=F("attempts") + 1, claimed_at=None)
        return
    rows.update(
        status=outcome.status,
        error=outcome.reason,
        attempts=F("attempts") + 1,
        sent_at=now if outcome.status == DeliveryStatus.SENT else None,
    )


def _deliver_wallet_rows(campaign: Campaign, channel: str, deliver, *, batch_size: int) -> int:
    """Deliver the campaign's pending rows of one wallet, each claimed first; returns how many were sent.

    A row is claimed (``claimed_at``) with a conditional UPDATE, so two runs
    never work on one row; a claim older than the lease belongs to a run that
    died, and is taken again. After ``WALLET_OUTAGE_AFTER`` answers "retry" in
    a row the wallet is taken to be down: the rest waits for the next attempt.
    """
    sent = consecutive_retries = 0
    last_delivery_id = 0
    while True:
        stale = timezone.now() - _lease()
        claimable = Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
        pending = CampaignDelivery.objects.filter(
            claimable, campaign=campaign, channel=channel, status=DeliveryStatus.PENDING
        )
        batch = list(
            pending.filter(pk__gt=last_delivery_id)
            .order_by("pk")
            .values_list("pk", "card_id", "claimed_at")[:batch_size]
        )
        if not batch:
            return sent
        for delivery_id, card_id, claimed_before in batch:
            if not pending.filter(pk=delivery_id).update(claimed_at=timezone.now()):
                continue  # another run took it
            outcome = deliver(card_id=card_id, resumed=claimed_before is not None)
            now = timezone.now()
            _row_outcome_write(
                CampaignDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING), outcome, now=now
            )
            sent += outcome.status == DeliveryStatus.SENT
            consecutive_retries = consecutive_retries + 1 if outcome.status == "retry" else 0
            if consecutive_retries >= WALLET_OUTAGE_AFTER:
                logger.warning("campaign.wallet_down", extra={"campaign_id": campaign.pk, "channel": channel})
                return sent
        last_delivery_id = batch[-1][0]
        _lease_renew(campaign)


def _google_message(message) -> dict:
    """A campaign's or an automatic message's Google message: its id (one per message and card set) and texts."""
    return {
        "message_id": message.wallet_message_id,
        "texts": {code: message.text_for(code) for code in CAMPAIGN_LANGUAGES},
        "link_url": message.link_url,
    }


def _send_google(campaign: Campaign, *, batch_size: int) -> int:
    """One class message for the whole program ("all cards"), else one message per pass; returns the rows sent."""
    message = _google_message(campaign)
    pending = CampaignDelivery.objects.filter(
        campaign=campaign, channel=DeliveryChannel.GOOGLE, status=DeliveryStatus.PENDING
    )
    if campaign.audience == CampaignAudience.ALL_ACTIVE:
        program = Program.objects.for_merchant(campaign.merchant_id).first()
        if program is None or not pending.exists():
            return 0
        outcome = campaign_google_class_deliver(program_id=program.pk, **message)
        rows = pending.count()
        _row_outcome_write(pending, outcome, now=timezone.now())
        return rows if outcome.status == DeliveryStatus.SENT else 0

    def deliver(*, card_id: int, resumed: bool):
        return campaign_google_object_deliver(card_id=card_id, check_first=resumed, **message)

    return _deliver_wallet_rows(campaign, DeliveryChannel.GOOGLE, deliver, batch_size=batch_size)


def _send_apple(campaign: Campaign, *, batch_size: int) -> int:
    def deliver(*, card_id: int, resumed: bool):
        return campaign_apple_deliver(card_id=card_id)

    return _deliver_wallet_rows(campaign, DeliveryChannel.APPLE, deliver, batch_size=batch_size)


def campaign_send(*, campaign_id: int, batch_size: int | None = None, now: datetime | None = None) -> CampaignSent:
    """Deliver a due campaign; safe to run again (resumes) and to run twice at once (claims each row).

    The run holds the campaign for ``LOYALTY_CAMPAIGN_LEASE_SECONDS``,
    renewed after each batch and released at the end; a second run at the
    same time returns at once. Wallets go first (Google, then Apple), then
    e-mail. Rows a wallet or the mail server could not take now stay pending:
    the result says so, and the task comes back for them later.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.LOYALTY_CAMPAIGN_BATCH_SIZE
    campaign = _claim_start(campaign_id, now)
    if campaign is None:
        status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
        logger.info("campaign.not_sent", extra={"campaign_id": campaign_id, "status": status})
        return CampaignSent(campaign_id=campaign_id, status=status or "")
    try:
        recipients = _write_delivery_rows(campaign, now=now, batch_size=batch_size)
        google_sent = _send_google(campaign, batch_size=batch_size)
        apple_sent = _send_apple(campaign, batch_size=batch_size)
        sent, failed = _send_emails(campaign, batch_size=batch_size)
    finally:
        Campaign.objects.filter(pk=campaign.pk).update(lease_until=None)
    counts = {"emails_sent": sent, "emails_failed": failed, "apple_sent": apple_sent, "google_sent": google_sent}
    if CampaignDelivery.objects.filter(campaign=campaign, status=DeliveryStatus.PENDING).exists():
        # refused or not reachable this time, to be tried again: the task retries later
        logger.info("campaign.retry_pending", extra={"campaign_id": campaign.pk, **counts})
        return CampaignSent(campaign_id=campaign.pk, status=CampaignStatus.SENDING, has_retries_pending=True, **counts)
    finished = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT,
        finished_at=timezone.now(),
        recipients_count=CampaignDelivery.objects.filter(campaign=campaign, channel=DeliveryChannel.EMAIL).count(),
    )
    logger.info("campaign.sent", extra={"campaign_id": campaign.pk, "cards": recipients, **counts})
    return CampaignSent(campaign_id=campaign.pk, status=CampaignStatus.SENT if finished else campaign.status, **counts)


@transaction.atomic
def marketing_consent_withdraw(*, token: str, now: datetime | None = None) -> bool:
    """Withdraw the marketing consent of the customer the unsubscribe token names; False for a bad token.

    The caller answers the same either way: the page reveals nothing about
    the customer, not even whether the token was valid.
    """
    try:
        customer_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return False
    now = now or timezone.now()
    withdrawn = Customer.objects.filter(pk=customer_id, marketing_consent=True).update(
        marketing_consent=False, marketing_consent_withdrawn_at=now, updated_at=now
    )
    logger.info("marketing_consent.withdrawn", extra={"customer_id": customer_id, "changed": bool(withdrawn)})
    return True
