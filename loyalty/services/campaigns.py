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

Sending is resumable and never sends twice. :func:`campaign_send` first
writes one delivery row per card and channel (bulk, conflicts ignored: the
unique constraint makes a re-run add only the missing rows), then works
through the pending rows in batches. Each e-mail row is claimed with one
conditional UPDATE (pending → sent) before the e-mail leaves, so two workers,
or a worker restarted after being killed, never send it again: a crash
between the claim and the SMTP answer loses that one e-mail rather than
sending it twice. A refused e-mail goes back to pending with the error's
class; the campaign stays "sending" and the task retries later (bounded
backoff) until ``CAMPAIGN_EMAIL_MAX_ATTEMPTS``, after which the row is
"failed".

Wallets: every card of the audience is announced as changed
(:func:`loyalty.services.wallet.card_change_announce`) once its delivery row
exists; the Apple pass then shows the campaign's text in a "News" back field
whose ``changeMessage`` is the text itself, and its devices get a push.

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
from django.db import transaction
from django.db.models import F
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
    Store,
)
from loyalty.models.campaigns import CAMPAIGN_LANGUAGES
from loyalty.selectors.campaigns import campaign_cards
from loyalty.services.audit import audit_record, changes_between
from loyalty.services.wallet import card_change_announce

logger = logging.getLogger(__name__)

CAMPAIGN_BATCH_SIZE = 500
# A refused e-mail is tried again by the task's retries (with backoff) up to this many times in all.
CAMPAIGN_EMAIL_MAX_ATTEMPTS = 4
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
    """Every minute: queue the sending of each scheduled campaign whose time has come (and of those left sending).

    Queuing twice is harmless: :func:`campaign_send` claims the start with a
    conditional UPDATE and resumes a campaign already sending.
    """
    now = now or timezone.now()
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now).values_list("pk", flat=True)
    campaign_ids = list(due)
    for campaign_id in campaign_ids:
        _enqueue_send(campaign_id)
    return len(campaign_ids)


@dataclass(frozen=True)
class CampaignSent:
    campaign_id: int
    status: str
    emails_sent: int = 0
    emails_failed: int = 0
    has_retries_pending: bool = False


def _claim_start(campaign_id: int, now: datetime) -> Campaign | None:
    """The campaign to send, moved to "sending" by this call or already sending; None when it must not be sent."""
    Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SCHEDULED, scheduled_at__lte=now).update(
        status=CampaignStatus.SENDING, started_at=now
    )
    return Campaign.objects.select_related("merchant").filter(pk=campaign_id, status=CampaignStatus.SENDING).first()


def _write_delivery_rows(campaign: Campaign, *, now: datetime, batch_size: int) -> int:
    """One e-mail delivery row per card of the audience (rows already there are kept), and news for its passes."""
    last_card_id = 0
    cards = campaign_cards(campaign=campaign, now=now)
    total = 0
    while True:
        card_ids = list(cards.filter(pk__gt=last_card_id).values_list("pk", flat=True)[:batch_size])
        if not card_ids:
            return total
        CampaignDelivery.objects.bulk_create(
            [
                CampaignDelivery(campaign=campaign, card_id=card_id, channel=DeliveryChannel.EMAIL)
                for card_id in card_ids
            ],
            ignore_conflicts=True,
        )
        # The passes show the latest campaign (loyalty.selectors.wallet.card_news_get): tell each card's
        # wallets. A re-run tells them again; the pass is the same, so the phone shows no second alert.
        for card_id in card_ids:
            card_change_announce(card_id=card_id)
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
    - ``APPLE`` / ``GOOGLE``: the card's passes are told (after commit) they
      changed; they show the latest message as news (``card_news_get``).
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
    wallets = [channel for channel in (DeliveryChannel.APPLE, DeliveryChannel.GOOGLE) if channel in channels]
    if wallets:
        card_change_announce(card_id=card.pk)
        results.update(dict.fromkeys(wallets, "sent"))
    return results


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
            is_final = delivery.attempts + 1 >= CAMPAIGN_EMAIL_MAX_ATTEMPTS
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


def campaign_send(
    *, campaign_id: int, batch_size: int = CAMPAIGN_BATCH_SIZE, now: datetime | None = None
) -> CampaignSent:
    """Deliver a due campaign; safe to run again (resumes) and to run twice at once (claims each row)."""
    now = now or timezone.now()
    campaign = _claim_start(campaign_id, now)
    if campaign is None:
        status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
        logger.info("campaign.not_sent", extra={"campaign_id": campaign_id, "status": status})
        return CampaignSent(campaign_id=campaign_id, status=status or "")
    recipients = _write_delivery_rows(campaign, now=now, batch_size=batch_size)
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
                break
            batch_sent, batch_failed = _send_email_batch(campaign, batch, connection, timezone.now())
            sent += batch_sent
            failed += batch_failed
            last_delivery_id = batch[-1].pk
    if pending.exists():  # e-mails refused this time, to be tried again: the task retries later
        logger.info("campaign.retry_pending", extra={"campaign_id": campaign.pk, "emails_failed": failed})
        return CampaignSent(
            campaign_id=campaign.pk,
            status=CampaignStatus.SENDING,
            emails_sent=sent,
            emails_failed=failed,
            has_retries_pending=True,
        )
    finished = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT,
        finished_at=timezone.now(),
        recipients_count=CampaignDelivery.objects.filter(campaign=campaign, channel=DeliveryChannel.EMAIL).count(),
    )
    logger.info(
        "campaign.sent",
        extra={"campaign_id": campaign.pk, "cards": recipients, "emails_sent": sent, "emails_failed": failed},
    )
    return CampaignSent(
        campaign_id=campaign.pk,
        status=CampaignStatus.SENT if finished else campaign.status,
        emails_sent=sent,
        emails_failed=failed,
    )


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
