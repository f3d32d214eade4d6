"""Celery entry points of Apple Wallet: thin wrappers around :mod:`wallet.apple.push`."""

import logging
import random

from celery import shared_task

from wallet.apple.push import apple_push_to_card
from wallet.apple.selectors import card_ids_with_registrations_for_program
from wallet.apple.services import apple_passes_mark_changed_for_program
from wallet.services import wallet_sync_mark

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
# Without a broker a task runs inside the request that enqueued it and Celery
# retries it at once, without waiting: one quick second try, then the hourly sync.
EAGER_MAX_RETRIES = 1


def retry_countdown_seconds(retries: int) -> int:
    """10 s, 20 s, 40 s, 80 s, 160 s (capped at 10 min), with jitter so retries do not arrive together."""
    return min(10 * 2**retries, 600) + random.randint(0, 5)


@shared_task(bind=True, name="wallet.apple_push_card", max_retries=MAX_RETRIES, ignore_result=True)
def apple_push_card(self, card_id: int, registration_ids: list[int] | None = None) -> None:
    """Push to the devices holding the card's pass; retry the ones APNs could not take now."""
    try:
        outcome = apple_push_to_card(card_id=card_id, registration_ids=registration_ids)
    except Exception:  # a bug or a dead database must not lose the change: the hourly sync retries
        logger.exception("apple.push_crashed", extra={"card_id": card_id})
        wallet_sync_mark(card_ids=[card_id])
        return
    if outcome.retryable:
        limit = EAGER_MAX_RETRIES if self.request.is_eager else MAX_RETRIES
        if self.request.retries < limit:
            raise self.retry(
                kwargs={"card_id": card_id, "registration_ids": outcome.retryable},
                countdown=retry_countdown_seconds(self.request.retries),
            )
    if not outcome.is_complete:
        wallet_sync_mark(card_ids=[card_id])


@shared_task(name="wallet.apple_program_changed", ignore_result=True)
def apple_program_changed(program_id: int) -> None:
    """The program's look or texts changed: every pass of it is out of date."""
    apple_passes_mark_changed_for_program(program_id=program_id)
    for card_id in card_ids_with_registrations_for_program(program_id=program_id):
        apple_push_card.delay(card_id)
