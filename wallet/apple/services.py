"""Writes of the Apple Wallet side: passes, change tags, device registrations.

Change tags. A device asks "which of my passes changed since tag T?"; the
answer must never miss a change, even two within the same microsecond. So
every pass carries ``change_tag``: microseconds since the epoch, but always
above every tag already given (``max(now, highest + 1)``), and tags are
handed out one transaction at a time (a transaction-scoped advisory lock on
PostgreSQL; SQLite runs one writer at a time anyway). Tags therefore become
visible in increasing order: a device that was told "up to T" can only ever
miss nothing, since every later change gets a tag above T. ``changed_at``
(the HTTP Last-Modified, whole seconds) is bumped to ``max(previous + 1 s,
now)`` per pass, so a device holding the Last-Modified of the first of two
same-second changes does not get a 304 for the second.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from loyalty.models import LoyaltyCard
from loyalty_site.db import prepared_row_exists
from wallet.models import AppleDeviceRegistration, ApplePass

SERIAL_BYTES = 16  # 32 hex characters: the download URL's only secret
TOKEN_BYTES = 24  # 32 URL-safe characters; Apple wants at least 16
PROGRAM_BATCH_SIZE = 500
# Any constant shared by every process of the site: the advisory lock that orders change tags.
CHANGE_TAG_LOCK_KEY = 0x4150504C45544147  # "APPLETAG"


def _now_microseconds(now: datetime) -> int:
    return int(now.timestamp() * 1_000_000)


def _whole_second(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(microsecond=0)


def apple_pass_get_or_create(*, card: LoyaltyCard, now: datetime | None = None) -> ApplePass:
    """The card's pass row, created on first use with a random serial and token that never change."""
    existing = ApplePass.objects.filter(card=card).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return ApplePass.objects.create(
                card=card,
                serial_number=secrets.token_hex(SERIAL_BYTES),
                authentication_token=secrets.token_urlsafe(TOKEN_BYTES),
                change_tag=max(_now_microseconds(now), _highest_tag_locked() + 1),
                changed_at=_whole_second(now),
            )
    except IntegrityError:  # created concurrently (one pass per card)
        return ApplePass.objects.get(card=card)


def _highest_tag_locked() -> int:
    """Take the tag lock (until the transaction ends) and return the highest tag given so far."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_TAG_LOCK_KEY])
    return ApplePass.objects.aggregate(highest=Max("change_tag"))["highest"] or 0


def _bump(apple_pass: ApplePass, *, tag: int, now: datetime) -> None:
    apple_pass.change_tag = tag
    apple_pass.changed_at = max(apple_pass.changed_at + timedelta(seconds=1), _whole_second(now))


def apple_pass_mark_changed(*, card_id: int, now: datetime | None = None) -> ApplePass | None:
    """Record that the card's pass content changed; ``None`` when the card has no Apple pass yet.

    Most cards are never added to Apple Wallet: for them this is one indexed read, outside
    any transaction (it runs after every till operation).
    """
    if not prepared_row_exists(ApplePass, "card", card_id):
        return None
    now = now or timezone.now()
    with transaction.atomic():
        tag = max(_now_microseconds(now), _highest_tag_locked() + 1)
        apple_pass = ApplePass.objects.select_for_update().filter(card_id=card_id).first()
        if apple_pass is None:
            return None
        _bump(apple_pass, tag=tag, now=now)
        apple_pass.save(update_fields=["change_tag", "changed_at"])
        return apple_pass


def apple_passes_mark_changed_for_program(*, program_id: int, now: datetime | None = None) -> int:
    """Bump every pass of the program (its look or texts changed), in batches of short transactions."""
    now = now or timezone.now()
    ids = list(ApplePass.objects.filter(card__program_id=program_id).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), PROGRAM_BATCH_SIZE):
        with transaction.atomic():
            tag = max(_now_microseconds(now), _highest_tag_locked() + 1)
            batch = list(
                ApplePass.objects.filter(pk__in=ids[start : start + PROGRAM_BATCH_SIZE])
                .order_by("pk")
                .select_for_update()
            )
            for offset, apple_pass in enumerate(batch):
                _bump(apple_pass, tag=tag + offset, now=now)
            ApplePass.objects.bulk_update(batch, ["change_tag", "changed_at"])
    return len(ids)


@dataclass(frozen=True)
class RegistrationResult:
    registration: AppleDeviceRegistration
    created: bool


def device_register(*, apple_pass: ApplePass, device_library_identifier: str, push_token: str) -> RegistrationResult:
    """Register a device for a pass's pushes; ``created`` is False when it already was (its token is refreshed).

    The unique (device, pass) constraint decides between concurrent requests:
    the loser of the race finds the winner's row and reports "already registered".
    """
    try:
        with transaction.atomic():
            registration, created = AppleDeviceRegistration.objects.get_or_create(
                apple_pass=apple_pass,
                device_library_identifier=device_library_identifier,
                defaults={"push_token": push_token},
            )
    except IntegrityError:
        registration = AppleDeviceRegistration.objects.get(
            apple_pass=apple_pass, device_library_identifier=device_library_identifier
        )
        created = False
    if not created:
        revived = registration.unregistered_at is not None
        if registration.push_token != push_token or revived:
            AppleDeviceRegistration.objects.filter(pk=registration.pk).update(
                push_token=push_token, unregistered_at=None, updated_at=timezone.now()
            )
            registration.push_token, registration.unregistered_at = push_token, None
        # APNs had dropped this device: to the device this is a new registration.
        created = revived
    return RegistrationResult(registration=registration, created=created)


def device_unregister(*, apple_pass: ApplePass, device_library_identifier: str) -> bool:
    deleted, _ = AppleDeviceRegistration.objects.filter(
        apple_pass=apple_pass, device_library_identifier=device_library_identifier
    ).delete()
    return bool(deleted)


def registration_mark_unregistered(*, registration_id: int, now: datetime | None = None) -> None:
    """APNs answered 410: stop pushing to this device; the weekly prune deletes the row."""
    AppleDeviceRegistration.objects.filter(pk=registration_id, unregistered_at__isnull=True).update(
        unregistered_at=now or timezone.now()
    )
