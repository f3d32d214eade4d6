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


def campaign_wallet_cards(*, card_ids: list[int]) -> dict[str, list[int]]:
    """Of a campaign's ``card_ids``, those each wallet can reach: ``{"apple": [...], "google": [...]}``."""
    from wallet.campaigns import campaign_wallet_cards as wallet_cards

    return wallet_cards(card_ids=card_ids)


def card_google_message_reachable(*, card_id: int) -> bool:
    """Whether a Google Wallet message can reach this card (Google Wallet on, the card saved to it): one read."""
    from wallet.google.messages import google_message_cards

    return bool(google_message_cards(card_ids=[card_id]))


def campaign_apple_deliver(*, card_id: int):
    """The card's Apple pass shows the news now and its devices are told; a ``WalletDelivery``."""
    from wallet.campaigns import apple_campaign_deliver

    return apple_campaign_deliver(card_id=card_id)


def _wallet_message(*, message_id: str, texts: dict[str, str], link_url: str):
    from wallet.google.messages import WalletMessage

    return WalletMessage(message_id=message_id, texts=texts, link_url=link_url)


def campaign_google_class_deliver(*, program_id: int, message_id: str, texts: dict[str, str], link_url: str):
    """One message on every Google pass of the program; a ``WalletDelivery``."""
    from wallet.campaigns import google_campaign_class_deliver

    message = _wallet_message(message_id=message_id, texts=texts, link_url=link_url)
    return google_campaign_class_deliver(program_id=program_id, message=message)


def campaign_google_object_deliver(
    *, card_id: int, message_id: str, texts: dict[str, str], link_url: str, check_first: bool
):
    """The message on one card's Google pass; a ``WalletDelivery``."""
    from wallet.campaigns import google_campaign_object_deliver

    message = _wallet_message(message_id=message_id, texts=texts, link_url=link_url)
    return google_campaign_object_deliver(card_id=card_id, message=message, check_first=check_first)
