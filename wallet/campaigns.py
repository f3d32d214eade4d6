"""The wallets' part of a campaign: which cards each wallet reaches, and the delivery to them.

Called by ``loyalty.services.campaigns`` through ``loyalty.services.wallet``.
Each delivery answers a :class:`WalletDelivery` the campaign writes on its
delivery row: "sent", "skipped" (nothing to reach), "failed" (refused, a
retry would not help) or "retry" (not now: the row stays pending for the
campaign's next attempt). Each is safe to repeat after a crash: the Apple
pass is the same pass again (no second alert on the phone), and a Google
message is added once (see :mod:`wallet.google.messages`).
"""

import logging
from dataclasses import dataclass

from wallet.apple.config import apple_config
from wallet.apple.push import apple_push_to_card
from wallet.apple.services import apple_pass_mark_changed
from wallet.google.client import GoogleWalletRejected, GoogleWalletUnavailable
from wallet.google.messages import (
    WalletMessage,
    google_class_message_add,
    google_message_cards,
    google_object_message_add,
)
from wallet.models import AppleDeviceRegistration

logger = logging.getLogger(__name__)

# What a "sent" Google row notes when the pass got the message without an alert (its three of the day used up).
GOOGLE_TEXT_ONLY = "text_only"


@dataclass(frozen=True)
class WalletDelivery:
    status: str  # "sent", "skipped", "failed" or "retry"
    reason: str = ""


def campaign_wallet_cards(*, card_ids: list[int]) -> dict[str, list[int]]:
    """``{"apple": [...], "google": [...]}``: of ``card_ids``, those each configured wallet can reach.

    Apple: passes with a device registered for updates (a pass never added
    to a phone is built fresh, news included, when downloaded). Google: cards
    saved to Google Wallet.
    """
    apple = []
    if apple_config() is not None:
        apple = list(
            AppleDeviceRegistration.objects.filter(apple_pass__card_id__in=card_ids, unregistered_at__isnull=True)
            .values_list("apple_pass__card_id", flat=True)
            .distinct()
        )
    return {"apple": apple, "google": google_message_cards(card_ids=card_ids)}


def apple_campaign_deliver(*, card_id: int) -> WalletDelivery:
    """Move the pass's tag (it now shows the news) and push to its devices on the one APNs connection."""
    if apple_config() is None or apple_pass_mark_changed(card_id=card_id) is None:
        return WalletDelivery("skipped", "no_pass")
    outcome = apple_push_to_card(card_id=card_id)
    if outcome.retryable:
        return WalletDelivery("retry", "apns_unavailable")
    if outcome.failed:
        return WalletDelivery("failed", "apns_rejected")
    if not outcome.delivered:
        return WalletDelivery("skipped", "no_device")  # every device had removed the pass
    return WalletDelivery("sent")


def _google(send) -> WalletDelivery:
    try:
        outcome = send()
    except GoogleWalletUnavailable:
        return WalletDelivery("retry", "google_unavailable")
    except GoogleWalletRejected as error:
        logger.warning("google_wallet.message_rejected", extra={"error": str(error)})
        return WalletDelivery("failed", f"google_rejected_{error.status_code or 'auth'}")
    if outcome in ("no_class", "no_object"):
        return WalletDelivery("skipped", "not_on_google")
    return WalletDelivery("sent", GOOGLE_TEXT_ONLY if outcome == "text" else "")


def google_campaign_class_deliver(*, program_id: int, message: WalletMessage) -> WalletDelivery:
    return _google(lambda: google_class_message_add(program_id=program_id, message=message))


def google_campaign_object_deliver(*, card_id: int, message: WalletMessage, check_first: bool) -> WalletDelivery:
    return _google(lambda: google_object_message_add(card_id=card_id, message=message, check_first=check_first))
