"""Celery entry points of the wallet app (discovered by ``app.autodiscover_tasks``)."""

import logging

from celery import shared_task

from wallet.apple.maintenance import apple_registrations_prune
from wallet.apple.tasks import apple_program_changed, apple_push_card  # noqa: F401
from wallet.google.tasks import google_card_update, google_program_update  # noqa: F401

logger = logging.getLogger(__name__)


@shared_task(name="wallet.prune_device_registrations", ignore_result=True)
def prune_device_registrations() -> int:
    """Weekly: drop Apple registrations APNs reported as unregistered (410)."""
    deleted = apple_registrations_prune()
    logger.info("apple_wallet.registrations_pruned", extra={"deleted": deleted})
    return deleted
