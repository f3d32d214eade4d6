"""Warnings that reach a person before a wallet credential expires (the daily ``wallet.credential_expiry_warnings``).

Apple pass certificates expire every year, and when one does no customer can
add a card to Apple Wallet and no installed card updates. Each day the
credentials :mod:`wallet.doctor` finds are compared with the thresholds; the
tightest one reached (30, 14, 7 or 1 days before, then once more when it has
expired) is logged as a warning and e-mailed to the platform administrators
(active superusers with an e-mail address), once per credential and
threshold: the row claimed in ``CredentialExpiryWarning`` before the e-mail
leaves is what makes a second run, or a second worker, send nothing.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wallet.doctor import Credential, CredentialKind, credentials_list
from wallet.models import CredentialExpiryWarning

logger = logging.getLogger(__name__)

WARNING_THRESHOLDS_DAYS = (30, 14, 7, 1)
EXPIRED_THRESHOLD = 0


@dataclass(frozen=True)
class ExpiryWarningSent:
    credential: Credential
    threshold_days: int
    recipient_count: int


def threshold_reached(days_left: float) -> int | None:
    """The tightest threshold ``days_left`` has reached (0: expired), or ``None`` when none has."""
    if days_left <= 0:
        return EXPIRED_THRESHOLD
    reached = [threshold for threshold in WARNING_THRESHOLDS_DAYS if days_left <= threshold]
    return min(reached) if reached else None


def platform_administrator_emails() -> list[str]:
    users = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    return list(users.order_by("pk").values_list("email", flat=True).distinct())


def expiry_warnings_send(*, now: datetime.datetime | None = None) -> list[ExpiryWarningSent]:
    """Warn about every credential that reached a threshold not yet warned about; returns what was sent.

    A failing mail server raises (``SMTPException``/``OSError``) after giving
    the claim back, so the task's retry, or tomorrow's run, sends it.
    """
    now = now or timezone.now()
    sent = []
    for credential in credentials_list(now=now):
        threshold = threshold_reached(credential.days_left(now))
        if threshold is None:
            continue
        claim = _claim(credential=credential, threshold_days=threshold, now=now)
        if claim is None:
            continue  # this threshold was already warned about
        recipients = platform_administrator_emails()
        logger.warning(
            "wallet.credential_expiring" if threshold else "wallet.credential_expired",
            extra={
                "credential": str(credential.kind),
                "setting": credential.setting,
                "path": credential.path,
                "fingerprint_sha256": credential.fingerprint_sha256,
                "expires_at": credential.expires_at.isoformat(),
                "threshold_days": threshold,
                "recipients": len(recipients),
            },
        )
        if recipients:
            try:
                send_mass_mail(_messages(credential, threshold, now, recipients))
            except Exception:
                claim.delete()
                raise
        else:
            logger.warning("wallet.credential_expiry_no_recipient", extra={"credential": str(credential.kind)})
        sent.append(ExpiryWarningSent(credential=credential, threshold_days=threshold, recipient_count=len(recipients)))
    return sent


def _claim(*, credential: Credential, threshold_days: int, now: datetime.datetime) -> CredentialExpiryWarning | None:
    try:
        with transaction.atomic():
            return CredentialExpiryWarning.objects.create(
                fingerprint_sha256=credential.fingerprint_sha256,
                credential_kind=str(credential.kind),
                threshold_days=threshold_days,
                expires_at=credential.expires_at,
                sent_at=now,
            )
    except IntegrityError:
        return None


def _credential_label(kind: CredentialKind) -> str:
    return {
        CredentialKind.APPLE_PASS_CERTIFICATE: _("Apple pass-signing certificate"),
        CredentialKind.APPLE_WWDR_CERTIFICATE: _("Apple WWDR intermediate certificate"),
    }[kind]


def _renewal(kind: CredentialKind) -> str:
    if kind is CredentialKind.APPLE_WWDR_CERTIFICATE:
        return _(
            "Download the current WWDR G4 intermediate from https://www.apple.com/certificateauthority/, "
            "replace the file and restart the web and worker processes."
        )
    return _(
        "Renew it in the Apple Developer portal (Certificates, Identifiers & Profiles), "
        "replace the file and restart the web and worker processes."
    )


def _messages(credential: Credential, threshold: int, now: datetime.datetime, recipients: list[str]) -> list[tuple]:
    """One e-mail per administrator (no one sees the others' addresses), in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "credential": _credential_label(credential.kind),
            "setting": credential.setting,
            "path": credential.path,
            "date": f"{credential.expires_at:%Y-%m-%d %H:%M} UTC",
        }
        if threshold == EXPIRED_THRESHOLD:
            subject = _("Wallet: your %(credential)s expired on %(date)s") % values
            lines = [
                _("The %(credential)s in %(setting)s (%(path)s) expired on %(date)s.") % values,
                _(
                    "Until it is replaced, customers cannot add their cards to Apple Wallet "
                    "and the cards already there do not update."
                ),
            ]
        else:
            days = credential.whole_days_left(now)
            subject = _("Wallet: your %(credential)s expires on %(date)s") % values
            lines = [
                _("The %(credential)s in %(setting)s (%(path)s) expires on %(date)s.") % values,
                ngettext("That is in %(count)d day.", "That is in %(count)d days.", days) % {"count": days},
                _(
                    "Once it has expired, customers can no longer add their cards to Apple Wallet "
                    "and the cards already there stop updating."
                ),
            ]
        lines += [
            _renewal(credential.kind),
            _("Certificate fingerprint (SHA-256): %(fingerprint)s") % {"fingerprint": credential.fingerprint_sha256},
            _("Check the whole wallet configuration with: python manage.py wallet_doctor"),
        ]
    body = "\n\n".join(lines) + "\n"
    return [(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient]) for recipient in recipients]
