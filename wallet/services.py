"""The wallet abstraction: the domain says "this card changed", wallets follow.

``loyalty`` calls :func:`card_changed` (after its transaction commits) and
:func:`program_changed`; this module fans the news out to every wallet that
is configured. With no wallet configured (the default) there is nothing to
update and nothing is sent.
"""

import logging

logger = logging.getLogger(__name__)

# Wallet back ends register here as they are configured: callables taking
# card_id / program_id that enqueue their own update work.
CARD_LISTENERS: list = []
PROGRAM_LISTENERS: list = []


def card_changed(*, card_id: int) -> None:
    for listener in CARD_LISTENERS:
        listener(card_id)


def program_changed(*, program_id: int) -> None:
    for listener in PROGRAM_LISTENERS:
        listener(program_id)
