"""Google Wallet messages: a campaign's text on every pass of a program (the class) or on one pass (an object).

Google's ``addMessage`` puts a message on the back of the pass; with
``messageType`` ``TEXT_AND_NOTIFY`` the phone also shows an alert, at most
three times per pass in 24 hours (Google answers a fourth with HTTP 429 and
a ``QuotaExceededException``). So every message Google accepted is recorded
(:class:`~wallet.models.GoogleWalletMessage`), and a pass's notifications are
its own notifying messages plus its class's in the last 24 hours; a message
that would be the fourth is sent as ``TEXT`` (on the pass, no alert). Should
Google still refuse a notification (its count and ours differ), the same
message is sent again at once as ``TEXT``. This platform sends no other
Google notifications (a balance change is a PATCH without
``notifyPreference``), so nothing else is counted.

A class message is one call that reaches every pass of the program. It is
``TEXT_AND_NOTIFY`` while the class has had fewer than three notifying
messages in 24 hours, and it counts as one notification of every pass of the
class (a later message to one of them sees it). It cannot be split per pass:
a pass that already had three alerts that day from messages to it alone gets
this one without an alert, by Google's own per-pass limit.

Sending twice adds nothing twice: a message's id is the campaign's, the
record is unique per class or object and id, a resumed sending first asks
Google whether the message is already there, and Google's 409 for an id it
holds counts as done.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from wallet.apple.localization import LABELS
from wallet.models import GoogleWalletClass, GoogleWalletMessage, GoogleWalletObject

from .client import CLASS_RESOURCE, OBJECT_RESOURCE, GoogleWalletQuotaExceeded, WalletClient, client_for
from .config import config_get
from .payloads import localized_string

logger = logging.getLogger(__name__)

NOTIFICATIONS_PER_PASS = 3
NOTIFICATION_WINDOW = timedelta(hours=24)
TEXT_AND_NOTIFY = "TEXT_AND_NOTIFY"
TEXT = "TEXT"


@dataclass(frozen=True)
class WalletMessage:
    """What a pass shows: ``texts`` in every site language, and an optional link after the text."""

    message_id: str
    texts: dict[str, str]
    link_url: str = ""


def message_payload(message: WalletMessage, *, message_type: str, now: datetime) -> dict:
    """A Google ``Message``: a "News" header and the text, in every site language."""
    bodies = {code: f"{text}\n{message.link_url}" if message.link_url else text for code, text in message.texts.items()}
    headers = {code: LABELS.get(code, LABELS["en"])["LABEL_NEWS"] for code in bodies}
    localized_header, localized_body = localized_string(headers), localized_string(bodies)
    return {
        "id": message.message_id,
        "header": localized_header["defaultValue"]["value"],
        "body": localized_body["defaultValue"]["value"],
        "localizedHeader": localized_header,
        "localizedBody": localized_body,
        "messageType": message_type,
        "displayInterval": {"start": {"date": now.isoformat()}},
    }


def _class_notifications_since(*, program_id: int, since: datetime) -> int:
    return GoogleWalletMessage.objects.filter(
        google_class__program_id=program_id, notified=True, created_at__gte=since
    ).count()


def pass_notifications_since(*, record: GoogleWalletObject, since: datetime) -> int:
    """Notifying messages a pass got since ``since``: its own and its class's."""
    return GoogleWalletMessage.objects.filter(
        Q(google_object=record) | Q(google_class__program_id=record.card.program_id),
        notified=True,
        created_at__gte=since,
    ).count()


def _remember(*, now: datetime, notified: bool, message_id: str, **owner) -> None:
    try:
        with transaction.atomic():
            GoogleWalletMessage.objects.create(message_id=message_id, notified=notified, created_at=now, **owner)
    except IntegrityError:
        pass  # another run recorded it first: one message all the same


def _add(client: WalletClient, resource: str, resource_id: str, message: WalletMessage, *, notify: bool, now):
    """Add the message; returns whether it notifies (a refused notification is sent again as TEXT)."""
    if notify:
        try:
            payload = message_payload(message, message_type=TEXT_AND_NOTIFY, now=now)
            client.add_message(resource, resource_id, payload)
            return True
        except GoogleWalletQuotaExceeded:
            logger.info("google_wallet.notification_quota", extra={"resource": resource, "id": resource_id})
    client.add_message(resource, resource_id, message_payload(message, message_type=TEXT, now=now))
    return False


def _deliver(
    client: WalletClient,
    resource: str,
    resource_id: str,
    message: WalletMessage,
    *,
    check_first: bool,
    notify: bool,
    now: datetime,
    **owner,
) -> str:
    """Add the message to a class or object and record it; "notified", "text", "already" or "missing" (no such one)."""
    if check_first:
        held = client.has_message(resource, resource_id, message.message_id)
        if held is None:
            return "missing"
        if held:
            _remember(now=now, notified=True, message_id=message.message_id, **owner)
            return "already"
    notified = _add(client, resource, resource_id, message, notify=notify, now=now)
    _remember(now=now, notified=notified, message_id=message.message_id, **owner)
    return "notified" if notified else "text"


def google_class_message_add(*, program_id: int, message: WalletMessage, now: datetime | None = None) -> str:
    """The message on every pass of the program; "notified", "text", "already" or "no_class".

    Raises ``GoogleWalletError`` when Google could not take it (worth a retry
    when ``GoogleWalletUnavailable``).
    """
    now = now or timezone.now()
    config = config_get()
    record = GoogleWalletClass.objects.filter(program_id=program_id).first()
    if config is None or record is None:
        return "no_class"
    if GoogleWalletMessage.objects.filter(google_class=record, message_id=message.message_id).exists():
        return "already"
    # One GET per campaign: a run killed after Google took the message, before it was recorded, adds nothing.
    notify = _class_notifications_since(program_id=program_id, since=now - NOTIFICATION_WINDOW) < NOTIFICATIONS_PER_PASS
    outcome = _deliver(
        client_for(config), CLASS_RESOURCE, record.class_id, message, check_first=True, notify=notify, now=now,
        google_class=record,
    )  # fmt: skip
    if outcome == "missing":
        return "no_class"
    logger.info("google_wallet.class_message", extra={"program_id": program_id, "outcome": outcome})
    return outcome


def google_object_message_add(
    *, card_id: int, message: WalletMessage, check_first: bool = False, now: datetime | None = None
) -> str:
    """The message on one card's pass; "notified", "text" (its alerts of the day used up), "already" or "no_object".

    ``check_first``: an earlier run may have sent it (it was killed before
    recording it), so ask Google first. Raises ``GoogleWalletError``.
    """
    now = now or timezone.now()
    config = config_get()
    record = GoogleWalletObject.objects.filter(card_id=card_id).select_related("card").first()
    if config is None or record is None:
        return "no_object"
    if GoogleWalletMessage.objects.filter(google_object=record, message_id=message.message_id).exists():
        return "already"
    notify = pass_notifications_since(record=record, since=now - NOTIFICATION_WINDOW) < NOTIFICATIONS_PER_PASS
    outcome = _deliver(
        client_for(config), OBJECT_RESOURCE, record.object_id, message, check_first=check_first, notify=notify,
        now=now, google_object=record,
    )  # fmt: skip
    return "no_object" if outcome == "missing" else outcome


def google_message_cards(*, card_ids) -> list[int]:
    """Of ``card_ids``, the cards saved to Google Wallet (those a message can reach), when it is on."""
    if config_get() is None:
        return []
    return list(GoogleWalletObject.objects.filter(card_id__in=card_ids).values_list("card_id", flat=True))
