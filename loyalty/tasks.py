"""Celery entry points of the loyalty app (found by ``app.autodiscover_tasks``): ids in, services do the work.

The periodic ones are scheduled by django-celery-beat (migration
``loyalty/0005_periodic_tasks``) under the names given here.
"""

import logging

from celery import shared_task

from loyalty.services.imports import card_import_run
from loyalty.services.points import points_expire
from loyalty.services.wallet import wallets_catch_up

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def card_import_task(import_id: str) -> None:
    # Safe to run again after a worker crash: rows already imported come
    # back as "already has a card" and nothing is imported twice.
    card_import_run(import_id=import_id)


@shared_task(name="loyalty.expire_points", ignore_result=True)
def expire_points() -> dict:
    """Daily: expire idle balances. Overlapping runs are safe (per-card lock and re-check)."""
    result = points_expire()
    logger.info("points.expired", extra={"cards": result.cards, "points": result.points})
    return {"cards": result.cards, "points": result.points}


@shared_task(name="loyalty.sync_wallet_passes", ignore_result=True)
def sync_wallet_passes(max_cards: int = 1000) -> dict:
    """Hourly: every card whose wallets are out of date is pushed again, at most ``max_cards`` a run."""
    return wallets_catch_up(max_cards=max_cards)
