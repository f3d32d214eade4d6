"""Which wallets are configured.

A wallet back end is a module exposing ``is_configured() -> bool``,
``card_changed(card_id)`` (enqueue an update after commit),
``program_changed(program_id)``, ``sync_card(card_id)`` (update now, raise on
failure: the hourly catch-up) and ``links(card) -> dict``. Listing them here is the only place the wallet app
names them.
"""

from importlib import import_module

BACKENDS = ("wallet.apple.backend", "wallet.google.backend")


def enabled():
    for path in BACKENDS:
        module = import_module(path)
        if module.is_configured():
            yield module
