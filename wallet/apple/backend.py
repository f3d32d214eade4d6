"""The Apple Wallet back end of :mod:`wallet.backends`.

``card_changed`` runs after the till's transaction committed, inside the
till's request: it only records the change (one short row update) and
enqueues the push, and nothing it does may fail the till operation.
"""

import logging

from django.urls import reverse

from wallet.apple.config import apple_config
from wallet.apple.push import apple_sync_card
from wallet.apple.selectors import card_has_active_registrations
from wallet.apple.services import apple_pass_get_or_create, apple_pass_mark_changed
from wallet.services import wallet_sync_mark

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return apple_config() is not None


def card_changed(card_id: int) -> None:
    from wallet.apple.tasks import apple_push_card

    try:
        if apple_pass_mark_changed(card_id=card_id) is None:
            return  # not in Apple Wallet: the pass is built fresh when downloaded
        if card_has_active_registrations(card_id=card_id):
            apple_push_card.delay(card_id)
    except Exception:  # broker down, database hiccup: the hourly sync catches up
        logger.exception("apple.card_changed_failed", extra={"card_id": card_id})
        try:
            wallet_sync_mark(card_ids=[card_id])
        except Exception:
            logger.exception("apple.mark_needs_sync_failed", extra={"card_id": card_id})


def program_changed(program_id: int) -> None:
    from wallet.apple.tasks import apple_program_changed

    try:
        apple_program_changed.delay(program_id)
    except Exception:
        logger.exception("apple.program_changed_failed", extra={"program_id": program_id})


def sync_card(card_id: int) -> None:
    """Update now; raises when a device could not be told (the hourly catch-up keeps the card marked)."""
    apple_sync_card(card_id)


def links(card) -> dict:
    from django.conf import settings

    apple_pass = apple_pass_get_or_create(card=card)
    path = reverse("wallet_apple:pass-download", kwargs={"serial_number": apple_pass.serial_number})
    return {"apple_pass_url": settings.SITE_URL + path}
