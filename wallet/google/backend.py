"""The Google Wallet back end of :mod:`wallet.backends`.

Cheap when there is nothing to do: a card that was never saved to Google
Wallet (no ``GoogleWalletObject``) enqueues nothing, and neither does a
program without a class. Enqueuing never raises into the caller (it runs
after the till's commit); a broker that cannot be reached marks the card for
the hourly sync.
"""

import logging

from django.conf import settings
from django.urls import reverse

from loyalty_site.db import prepared_row_exists
from wallet.models import GoogleWalletClass, GoogleWalletObject
from wallet.services import wallet_sync_mark

from . import config
from .services import google_program_cards_mark_out_of_date, google_sync_card

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return config.is_configured()


def card_changed(card_id: int) -> None:
    from .tasks import google_card_update

    if not prepared_row_exists(GoogleWalletObject, "card", card_id):
        return
    try:
        google_card_update.delay(card_id)
    except Exception:
        logger.exception("google_wallet.enqueue_failed", extra={"card_id": card_id})
        wallet_sync_mark(card_ids=[card_id])


def program_changed(program_id: int) -> None:
    from .tasks import google_program_update

    if not GoogleWalletClass.objects.filter(program_id=program_id).exists():
        return
    try:
        google_program_update.delay(program_id)
    except Exception:
        logger.exception("google_wallet.enqueue_failed", extra={"program_id": program_id})
        google_program_cards_mark_out_of_date(program_id=program_id)


def sync_card(card_id: int) -> None:
    """Update the card's object now; raises ``GoogleWalletError`` on failure (the hourly catch-up)."""
    google_sync_card(card_id)


def links(card) -> dict:
    """The save link's entry point on our site (the JWT itself is made when it is followed)."""
    if not card.is_active or not config.is_configured():
        return {}
    path = reverse("wallet_google:save", kwargs={"public_token": card.public_token})
    return {"google_save_url": settings.SITE_URL + path}
