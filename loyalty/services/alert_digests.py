"""The daily alert e-mail: at 07:00 merchant-local time, yesterday's new alerts to owners and managers.

The hourly job ``loyalty.send_alert_digests`` calls :func:`alert_digests_send`,
which picks the merchants whose local time (the zone of their first store,
as for the 7-day staff windows) has passed 07:00, and e-mails each of their
active owners and managers the alerts raised on the previous local day that
they see on the Alerts page (a manager: their stores', not about
themselves). Nobody gets an e-mail without alerts, nor when the merchant
turned the e-mail off (``MerchantSettings.alert_digest_enabled``).

Each recipient's e-mail of a day is claimed first — an ``AlertDigestSent``
row, unique per user and day — and only the run that inserted the row
sends, so overlapping or repeated runs send it once. A mail server that
refuses gives the claim back, and the next hour's run tries again.
The e-mail is in the recipient's language (``Membership.language``, the
language of their last back-office login), plain text and HTML.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from loyalty.models import Alert, AlertDigestSent, Merchant
from loyalty.selectors.alerts import alerts_visible_to
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.alerts import day_bounds, merchant_zone

logger = logging.getLogger(__name__)

DIGEST_LOCAL_TIME = time(7, 0)
# An e-mail lists at most this many alerts; the Alerts page has them all.
DIGEST_MAX_LISTED = 50


@dataclass(frozen=True)
class DigestsSent:
    merchants: int
    emails: int
    failed: int


def _recipients(merchant: Merchant):
    from staff.models import Membership, Role  # staff depends on loyalty's models; import late

    return (
        Membership.objects.for_merchant(merchant)
        .filter(is_active=True, role__in=(Role.OWNER, Role.MANAGER), user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("pk")
    )


def _claim(*, merchant: Merchant, user, day, alerts: int, now: datetime) -> AlertDigestSent | None:
    try:
        with transaction.atomic():
            return AlertDigestSent.objects.create(merchant=merchant, user=user, day=day, alerts=alerts, sent_at=now)
    except IntegrityError:
        return None  # another run has it


def _message(*, merchant: Merchant, membership, alerts: list[Alert], total: int, day, zone):
    language = membership.language or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(zone):
        context = {
            "merchant": merchant,
            "day": day,
            "alerts": [
                {"alert": alert, "url": settings.SITE_URL + reverse("admin:loyalty_alert_change", args=[alert.pk])}
                for alert in alerts
            ],
            "total": total,
            "more": total - len(alerts),
            "alerts_url": settings.SITE_URL + reverse("admin:loyalty_alert_changelist") + "?status__exact=open",
            "language": language,
        }
        # One line whatever the merchant's name holds: a line break in a subject is a header injection.
        subject = " ".join(render_to_string("loyalty/email/alert_digest_subject.txt", context).split())
        body = render_to_string("loyalty/email/alert_digest.txt", context)
        html = render_to_string("loyalty/email/alert_digest.html", {**context, "subject": subject})
    message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [membership.user.email])
    message.attach_alternative(html, "text/html")
    return message


def alert_digest_send(*, merchant: Merchant, now: datetime | None = None) -> tuple[int, int]:
    """One merchant's digests of yesterday, if its local time has passed 07:00: (e-mails sent, failed)."""
    now = now or timezone.now()
    if not merchant_settings_get(merchant=merchant).alert_digest_enabled:
        return 0, 0
    zone = merchant_zone(merchant)
    local_now = now.astimezone(zone)
    if local_now.time() < DIGEST_LOCAL_TIME:
        return 0, 0
    day = local_now.date() - timedelta(days=1)
    start, end = day_bounds(day, zone)
    yesterdays = (
        Alert.objects.for_merchant(merchant)
        .filter(created_at__gte=start, created_at__lt=end)
        .select_related("card", "staff_pin", "store", "user")
        .order_by("created_at", "pk")
    )
    if not yesterdays.exists():
        return 0, 0
    sent = failed = 0
    for membership in _recipients(merchant):
        theirs = alerts_visible_to(yesterdays, user=membership.user, role=membership.role)
        total = theirs.count()
        if not total or AlertDigestSent.objects.filter(user=membership.user, day=day).exists():
            continue
        claim = _claim(merchant=merchant, user=membership.user, day=day, alerts=total, now=now)
        if claim is None:
            continue
        message = _message(
            merchant=merchant,
            membership=membership,
            alerts=list(theirs[:DIGEST_MAX_LISTED]),
            total=total,
            day=day,
            zone=zone,
        )
        try:
            message.send()
        except (SMTPException, OSError) as error:
            claim.delete()  # the next hourly run tries again
            failed += 1
            # The error's class only: an SMTP refusal's text names the address.
            logger.warning(
                "alert_digest.failed",
                extra={"merchant": merchant.pk, "user": membership.user_id, "error": type(error).__name__},
            )
            continue
        sent += 1
        logger.info("alert_digest.sent", extra={"merchant": merchant.pk, "user": membership.user_id, "alerts": total})
    return sent, failed


def alert_digests_send(*, now: datetime | None = None) -> DigestsSent:
    """Every active merchant's digests that are due (hourly job; runs that overlap send each e-mail once)."""
    now = now or timezone.now()
    merchants = emails = failed = 0
    for merchant in Merchant.objects.filter(is_active=True).order_by("pk").iterator():
        merchant_sent, merchant_failed = alert_digest_send(merchant=merchant, now=now)
        merchants += 1
        emails += merchant_sent
        failed += merchant_failed
    return DigestsSent(merchants=merchants, emails=emails, failed=failed)
