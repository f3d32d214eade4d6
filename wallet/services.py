"""The wallet abstraction: the domain says "this card changed", wallets follow.

``loyalty`` calls :func:`card_changed` after its transaction commits and
:func:`program_changed` when a program's look or text changes; this module
fans the news out to every configured wallet (Apple, Google). With no wallet
configured nothing is sent. The customer pages and the API ask
:func:`wallet_links` for the "Add to wallet" URLs of a card.
"""

import logging

from wallet import backends

logger = logging.getLogger(__name__)


def card_changed(*, card_id: int) -> None:
    """Called by loyalty after commit: enqueue an update in every wallet the card can be in."""
    for backend in backends.enabled():
        backend.card_changed(card_id)


def program_changed(*, program_id: int) -> None:
    for backend in backends.enabled():
        backend.program_changed(program_id)


def wallet_links(card) -> dict:
    """``{"apple_pass_url": ..., "google_save_url": ...}`` for the wallets that are configured."""
    links = {}
    for backend in backends.enabled():
        links.update(backend.links(card))
    return links
