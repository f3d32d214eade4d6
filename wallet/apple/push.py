"""Tell the devices holding a card's pass that it changed (APNs).

Per Apple's provider API: 200 delivered; 410 Unregistered, or 400
BadDeviceToken / DeviceTokenNotForTopic, means the device no longer wants
this pass's notifications, so the registration is dropped; 429 and 5xx (and
network errors) are worth retrying later; any other answer is a problem of
ours (certificate, topic) that a retry will not fix.
"""

import logging
from dataclasses import dataclass, field

import httpx

from wallet.apple.apns import apns_client
from wallet.apple.config import apple_config
from wallet.apple.selectors import active_registrations_for_card
from wallet.apple.services import apple_pass_mark_changed, registration_mark_unregistered

logger = logging.getLogger(__name__)

DROPPED_REASONS = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered"}


@dataclass
class PushOutcome:
    delivered: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    retryable: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        return not self.retryable and not self.failed


class ApplePushFailed(Exception):
    """Some devices could not be told about a change (see ``outcome``)."""

    def __init__(self, card_id: int, outcome: PushOutcome):
        self.card_id = card_id
        self.outcome = outcome
        super().__init__(f"card {card_id}: {len(outcome.retryable)} device(s) to retry, {len(outcome.failed)} failed")


def apple_push_to_card(*, card_id: int, registration_ids: list[int] | None = None) -> PushOutcome:
    """Push to every active registration of the card's pass (or to ``registration_ids`` of them)."""
    outcome = PushOutcome()
    config = apple_config()
    if config is None:
        return outcome
    registrations = active_registrations_for_card(card_id=card_id, registration_ids=registration_ids)
    if not registrations:
        return outcome
    client = apns_client(config)
    for registration in registrations:
        try:
            response = client.push(push_token=registration.push_token, topic=config.pass_type_identifier)
        except httpx.HTTPError as error:
            logger.warning(
                "apple.push_transport_error",
                extra={"card_id": card_id, "registration_id": registration.pk, "error": error.__class__.__name__},
            )
            outcome.retryable.append(registration.pk)
            continue
        if response.status == 200:
            outcome.delivered.append(registration.pk)
        elif response.status == 410 or (response.status == 400 and response.reason in DROPPED_REASONS):
            registration_mark_unregistered(registration_id=registration.pk)
            outcome.dropped.append(registration.pk)
        elif response.status == 429 or response.status >= 500:
            outcome.retryable.append(registration.pk)
        else:
            outcome.failed.append(registration.pk)
            logger.error(
                "apple.push_rejected",
                extra={
                    "card_id": card_id,
                    "registration_id": registration.pk,
                    "status": response.status,
                    "reason": response.reason,
                },
            )
    logger.info(
        "apple.push",
        extra={
            "card_id": card_id,
            "delivered": len(outcome.delivered),
            "dropped": len(outcome.dropped),
            "retryable": len(outcome.retryable),
            "failed": len(outcome.failed),
        },
    )
    return outcome


def apple_sync_card(card_id: int) -> PushOutcome:
    """Bring the card's Apple pass up to date now (the hourly catch-up): bump its tag and push.

    Raises :class:`ApplePushFailed` when a device could not be told, so the
    caller keeps the card marked for the next run. A card without an Apple
    pass, or with Apple Wallet off, has nothing to do.
    """
    if apple_config() is None:
        return PushOutcome()
    if apple_pass_mark_changed(card_id=card_id) is None:
        return PushOutcome()
    outcome = apple_push_to_card(card_id=card_id)
    if not outcome.is_complete:
        raise ApplePushFailed(card_id, outcome)
    return outcome
