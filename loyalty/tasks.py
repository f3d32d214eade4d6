"""Celery entry points of the loyalty app (found by ``app.autodiscover_tasks``): ids in, services do the work.

The periodic ones are scheduled by django-celery-beat (migrations
``loyalty/0005_periodic_tasks``, ``loyalty/0009_prune_idempotency_keys_task``,
``loyalty/0011_detect_alerts_task``, ``loyalty/0013_start_due_campaigns_task`` and
``loyalty/0016_alert_hours_digest``, ``loyalty/0018_automatic_messages``) under the names given here.
"""

import logging
import random
from smtplib import SMTPException

from celery import shared_task

from loyalty.services.alert_digests import alert_digests_send
from loyalty.services.alerts import alerts_detect_all
from loyalty.services.automatic_messages import automatic_messages_deliver_for_card, automatic_messages_run
from loyalty.services.campaigns import CAMPAIGN_MAX_ATTEMPTS, campaign_send, campaigns_due_start
from loyalty.services.idempotency import idempotency_records_prune
from loyalty.services.imports import card_import_run
from loyalty.services.notifications import card_link_deliver
from loyalty.services.points import points_expire
from loyalty.services.wallet import wallets_catch_up

logger = logging.getLogger(__name__)

CARD_LINK_MAX_RETRIES = 5


def card_link_retry_countdown_seconds(retries: int) -> int:
    """30 s, 1, 2, 4, 8 min, with jitter so retries after a mail-server outage do not arrive together."""
    return 30 * 2**retries + random.randint(0, 10)


@shared_task(acks_late=True)
def card_import_task(import_id: str) -> None:
    # Safe to run again after a worker crash: rows already imported come
    # back as "already has a card" and nothing is imported twice.
    card_import_run(import_id=import_id)


@shared_task(bind=True, name="loyalty.send_card_link", ignore_result=True)
def send_card_link(self, card_id: int) -> None:
    """E-mail the card's link (queued by ``card_link_send`` after commit); a failing mail server is retried.

    Without a broker it runs inside the customer's request: there it gets one
    attempt, and a mail server that fails is logged, never turned into an
    error page instead of "check your e-mail".
    """
    try:
        card_link_deliver(card_id=card_id)
    except (SMTPException, OSError) as error:
        if not self.request.is_eager and self.request.retries < CARD_LINK_MAX_RETRIES:
            raise self.retry(
                exc=error,
                countdown=card_link_retry_countdown_seconds(self.request.retries),
                max_retries=CARD_LINK_MAX_RETRIES,
            )
        # The error's class only: an SMTP refusal's text names the customer's address.
        logger.warning(
            "card_link.delivery_failed",
            extra={"card_id": card_id, "error": type(error).__name__, "retries": self.request.retries},
        )


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


@shared_task(name="loyalty.prune_idempotency_keys", ignore_result=True)
def prune_idempotency_keys() -> int:
    """Hourly: forget the store API's Idempotency-Keys older than ``IDEMPOTENCY_KEY_TTL_HOURS``."""
    deleted = idempotency_records_prune()
    logger.info("idempotency.pruned", extra={"records": deleted})
    return deleted


@shared_task(name="loyalty.detect_alerts", ignore_result=True)
def detect_alerts() -> dict:
    """Every 15 minutes: the fraud-alert rules over every active merchant's recent ledger; overlapping runs are safe."""
    result = alerts_detect_all()
    logger.info("alerts.detected", extra={"merchants": result.merchants, "alerts": result.alerts})
    return {"merchants": result.merchants, "alerts": result.alerts}


@shared_task(name="loyalty.send_alert_digests", ignore_result=True)
def send_alert_digests() -> dict:
    """Hourly: yesterday's new alerts to each owner and manager once their merchant's 07:00 has passed; once a day."""
    result = alert_digests_send()
    logger.info("alerts.digests", extra={"merchants": result.merchants, "emails": result.emails, "failed": result.failed})
    return {"merchants": result.merchants, "emails": result.emails, "failed": result.failed}


def campaign_retry_countdown_seconds(retries: int) -> int:
    """1, 2, 4 min (bounded by CAMPAIGN_MAX_ATTEMPTS), with jitter."""
    return 60 * 2**retries + random.randint(0, 15)


@shared_task(bind=True, name="loyalty.send_campaign", ignore_result=True, acks_late=True)
def send_campaign(self, campaign_id: int) -> dict:
    """Deliver a campaign; run again after a crash it resumes where it stopped and sends nothing twice.

    E-mails a mail server refused, and passes a wallet could not take now,
    are pending again: the task comes back for them later, a bounded number of
    times (then they are marked failed). A worker killed mid-campaign leaves
    it "sending": the minute job ``start_due_campaigns`` queues it again once
    its lease has lapsed.
    """
    result = campaign_send(campaign_id=campaign_id)
    if result.has_retries_pending and self.request.is_eager:
        # No worker to come back later (the embedded run): try again now; each run is one more
        # attempt per pending row, so this ends after CAMPAIGN_MAX_ATTEMPTS runs at most.
        for _attempt in range(CAMPAIGN_MAX_ATTEMPTS):
            result = campaign_send(campaign_id=campaign_id)
            if not result.has_retries_pending:
                break
    elif result.has_retries_pending:
        raise self.retry(
            countdown=campaign_retry_countdown_seconds(self.request.retries),
            max_retries=CAMPAIGN_MAX_ATTEMPTS,
        )
    return {
        "status": result.status,
        "emails_sent": result.emails_sent,
        "emails_failed": result.emails_failed,
        "apple_sent": result.apple_sent,
        "google_sent": result.google_sent,
    }


@shared_task(name="loyalty.start_due_campaigns", ignore_result=True)
def start_due_campaigns() -> int:
    """Every minute: queue the campaigns whose scheduled time has come, and those a dead worker left sending."""
    return campaigns_due_start()


@shared_task(name="loyalty.send_automatic_messages", ignore_result=True)
def send_automatic_messages() -> dict:
    """Every 15 minutes: birthdays, points expiring, we miss you, and what waited for the window; bounded, overlap-safe."""
    result = automatic_messages_run()
    return {"merchants": result.merchants, "claimed": result.claimed, "delivered": result.delivered}


@shared_task(name="loyalty.send_automatic_messages_for_card", ignore_result=True)
def send_automatic_messages_for_card(card_id: int) -> int:
    """After an operation claimed a message (reward ready): send it now if the merchant's window is open."""
    return automatic_messages_deliver_for_card(card_id=card_id)
