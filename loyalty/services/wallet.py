"""The one door from loyalty into the wallet app.

Every loyalty module that has news for the wallets, or needs something
from them, comes through here; nothing else in loyalty imports ``wallet``.

- A card's balances, status or holder changed: :func:`card_change_announce`.
- What every pass of a program shows changed (the program's texts and look,
  the merchant's name, its stores): :func:`program_change_announce`.

Both act once the current database transaction commits (at once outside
one): a wallet must never show what was rolled back, and the till's answer
never waits on a wallet inside its transaction. The wallet app decides what
each wallet does with the news, and marks cards for the hourly sync when it
cannot deliver.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def card_change_announce(*, card_id: int) -> None:
    from wallet.services import card_changed

    transaction.on_commit(lambda: card_changed(card_id=card_id))


def program_change_announce(*, program_id: int) -> None:
    from wallet.services import program_changed

    transaction.on_commit(lambda: program_changed(program_id=program_id))


def wallet_links_get(*, card) -> dict:
    """``{"apple_pass_url": …, "google_save_url": …}`` for the configured wallets; ``{}`` if they fail.

    A wallet's misconfiguration must not take the customer's card page or the
    enrollment answer down with it: it is logged, and the buttons are left out.
    """
    from wallet.services import wallet_links

    try:
        return wallet_links(card)
    except Exception:
        logger.exception("wallet.links_failed", extra={"card_id": card.pk})
        return {}


def wallets_catch_up(*, max_cards: int) -> dict:
    """The hourly job: send every card marked out of date to its wallets again."""
    from wallet.services import wallets_sync_pending

    return wallets_sync_pending(max_cards=max_cards)
