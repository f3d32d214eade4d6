"""Celery entry points of the wallet app (discovered by ``app.autodiscover_tasks``)."""

import logging
from smtplib import SMTPException

from celery import shared_task

from wallet.apple.maintenance import apple_registrations_prune
from wallet.expiry import expiry_warnings_send
from wallet.apple.tasks import apple_program_changed, apple_push_card  # noqa: F401
from wallet.google.tasks import google_card_update, google_program_update  # noqa: F401

logger = logging.getLogger(__name__)

EXPIRY_MAIL_MAX_RETRIES = 5
EXPIRY_MAIL_RETRY_SECONDS = 15 * 60


@shared_task(name="wallet.prune_device_registrations", ignore_result=True)
def prune_device_registrations() -> int:
    """Weekly: drop Apple registrations APNs reported as unregistered (410)."""
    deleted = apple_registrations_prune()
    logger.info("apple_wallet.registrations_pruned", extra={"deleted": deleted})
    return deleted


@shared_task(bind=True, name="wallet.credential_expiry_warnings", ignore_result=True)
def credential_expiry_warnings(self) -> int:
    """Daily: warn the platform administrators 30, 14, 7 and 1 days before a wallet certificate expires."""
    try:
        sent = expiry_warnings_send()
    except (SMTPException, OSError) as error:
        if not self.request.is_eager and self.request.retries < EXPIRY_MAIL_MAX_RETRIES:
            raise self.retry(exc=error, countdown=EXPIRY_MAIL_RETRY_SECONDS, max_retries=EXPIRY_MAIL_MAX_RETRIES)
        logger.warning(
            "wallet.credential_expiry_mail_failed",
            extra={"error": type(error).__name__, "retries": self.request.retries},
        )
        return 0
    return len(sent)
