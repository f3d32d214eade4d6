"""Celery entry points for Google Wallet updates (imported by ``wallet.tasks``).

A task takes an id, calls one service and decides about retries: a timeout,
a 5xx or a 429 is retried with exponential backoff a bounded number of
times; a refusal (other 4xx) is not. When the update finally fails the card
is marked out of date for the hourly sync. A task never raises: it runs after
the till's commit, and with no broker Celery runs it eagerly inside the
till's request, where an exception would turn a recorded stamp into an error
page. Eagerly there is one attempt only, so the till waits at most one
timeout.
"""

import logging

from celery import shared_task

from wallet.services import wallet_sync_mark

from .client import GoogleWalletError, GoogleWalletUnavailable
from .services import (
    google_program_cards_mark_out_of_date,
    google_sync_card,
    google_sync_program,
)

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 30 * 60


def retry_countdown(retries_so_far: int) -> int | None:
    """Seconds before the next try (30 s, 1, 2, 4, 8 min), or None when the tries are used up."""
    if retries_so_far >= MAX_RETRIES:
        return None
    return min(FIRST_RETRY_SECONDS * 2**retries_so_far, LONGEST_RETRY_SECONDS)


def _retry_or_give_up(task, error: Exception, give_up) -> None:
    countdown = None
    if isinstance(error, GoogleWalletUnavailable) and not task.request.is_eager:
        countdown = retry_countdown(task.request.retries)
    if countdown is not None:
        raise task.retry(exc=error, countdown=countdown, max_retries=MAX_RETRIES)
    give_up()


@shared_task(bind=True, name="wallet.google.card_update", ignore_result=True)
def google_card_update(self, card_id: int) -> None:
    """Bring the card's Google Wallet object up to date (after a balance or status change)."""
    try:
        google_sync_card(card_id)
    except GoogleWalletError as error:

        def give_up():
            logger.warning(
                "google_wallet.card_update_failed",
                extra={"card_id": card_id, "error": str(error), "retries": self.request.retries},
            )
            wallet_sync_mark(card_ids=[card_id])

        _retry_or_give_up(self, error, give_up)
    except Exception:  # a bug must not reach the till either; the hourly sync tries again
        logger.exception("google_wallet.card_update_crashed", extra={"card_id": card_id})
        wallet_sync_mark(card_ids=[card_id])


@shared_task(bind=True, name="wallet.google.program_update", ignore_result=True)
def google_program_update(self, program_id: int) -> None:
    """Bring the program's Google Wallet class up to date (after an edit of its name, colours, logo, texts)."""
    try:
        google_sync_program(program_id)
    except GoogleWalletError as error:

        def give_up():
            marked = google_program_cards_mark_out_of_date(program_id=program_id)
            logger.warning(
                "google_wallet.program_update_failed",
                extra={"program_id": program_id, "error": str(error), "cards_marked": marked},
            )

        _retry_or_give_up(self, error, give_up)
    except Exception:
        logger.exception("google_wallet.program_update_crashed", extra={"program_id": program_id})
        google_program_cards_mark_out_of_date(program_id=program_id)
