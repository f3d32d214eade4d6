"""The wallet abstraction: the domain says "this card changed", wallets follow.

``loyalty`` calls :func:`card_changed` after its transaction commits and
:func:`program_changed` when a program's look or text changes; this module
fans the news out to every configured wallet (Apple, Google). With no wallet
configured nothing is sent. The customer pages and the API ask
:func:`wallet_links` for the "Add to wallet" URLs of a card.

A wallet that could not be told of a change marks the card with
:func:`wallet_sync_mark`, the one writer of ``LoyaltyCard.wallet_needs_sync``;
the hourly :func:`wallets_sync_pending` catches marked cards up.
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


def wallet_sync_mark(*, card_ids) -> int:
    """Mark cards (ids, or a ``values("pk")``-style queryset) for the hourly wallet sync; returns how many."""
    return _needs_sync_set(card_ids, True)


def _needs_sync_set(card_ids, value: bool) -> int:
    from loyalty.models import LoyaltyCard

    return LoyaltyCard.objects.filter(pk__in=card_ids).update(wallet_needs_sync=value)


def wallets_sync_pending(*, max_cards: int = 1000, stop_after_failures: int = 20) -> dict:
    """Catch up the wallets of cards marked out of date (the hourly job).

    Takes at most ``max_cards`` marked cards per run. Each card's flag is
    cleared *before* its wallets are updated, so a change that fails again
    meanwhile sets it back and is not lost. After ``stop_after_failures``
    consecutive failures the wallet service is taken to be down and the rest
    waits for the next run.
    """
    from loyalty.models import LoyaltyCard

    synced = failed = consecutive_failures = 0
    enabled = list(backends.enabled())
    card_ids = list(
        LoyaltyCard.objects.filter(wallet_needs_sync=True).order_by("pk").values_list("pk", flat=True)[:max_cards]
    )
    for card_id in card_ids:
        _needs_sync_set([card_id], False)
        try:
            for backend in enabled:
                backend.sync_card(card_id)
        except Exception:
            logger.warning("wallet.sync_failed", extra={"card_id": card_id}, exc_info=True)
            wallet_sync_mark(card_ids=[card_id])
            failed += 1
            consecutive_failures += 1
            if consecutive_failures >= stop_after_failures:
                break
        else:
            synced += 1
            consecutive_failures = 0
    logger.info("wallet.sync_pending", extra={"synced": synced, "failed": failed, "pending": len(card_ids)})
    return {"synced": synced, "failed": failed}
