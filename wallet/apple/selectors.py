"""Reads of the Apple Wallet side.

Passes are found by serial number alone: to a device (and to the download
URL) the serial is the identifier, and the pass itself names its merchant.
"""

import re
from dataclasses import dataclass

from wallet.models import AppleDeviceRegistration, ApplePass

# The serials we issue (hex) fit this; the download URL accepts nothing else.
SERIAL_PATTERN = r"[A-Za-z0-9]{1,64}"
_SERIAL = re.compile(SERIAL_PATTERN)


def apple_pass_get_by_serial(*, serial_number: str) -> ApplePass | None:
    """The pass, or None; a serial we could not have issued is unknown without asking the
    database, which may refuse it (PostgreSQL cannot hold a NUL byte)."""
    if not _SERIAL.fullmatch(serial_number):
        return None
    return (
        ApplePass.objects.select_related("card__program", "card__merchant", "card__customer")
        .filter(serial_number=serial_number)
        .first()
    )


@dataclass(frozen=True)
class UpdatedSerials:
    serial_numbers: list[str]
    last_updated: str


def serials_updated_since(*, device_library_identifier: str, since_tag: int | None) -> UpdatedSerials | None:
    """Every serial registered by the device whose pass changed after ``since_tag`` (all of them without a tag).

    ``None`` when nothing changed. ``last_updated`` is the newest change tag
    among the answer, as a string: the device sends it back as
    ``passesUpdatedSince`` next time. Served by the registration's
    (device, pass) unique index and the pass's ``change_tag`` index.
    """
    passes = ApplePass.objects.filter(
        registrations__device_library_identifier=device_library_identifier,
        registrations__unregistered_at__isnull=True,
    )
    if since_tag is not None:
        passes = passes.filter(change_tag__gt=since_tag)
    rows = list(passes.order_by("change_tag").values_list("serial_number", "change_tag"))
    if not rows:
        return None
    return UpdatedSerials(serial_numbers=[serial for serial, _ in rows], last_updated=str(rows[-1][1]))


def active_registrations_for_card(*, card_id: int, registration_ids: list[int] | None = None):
    registrations = AppleDeviceRegistration.objects.filter(
        apple_pass__card_id=card_id, unregistered_at__isnull=True
    ).order_by("pk")
    if registration_ids is not None:
        registrations = registrations.filter(pk__in=registration_ids)
    return list(registrations)


def card_ids_with_registrations_for_program(*, program_id: int) -> list[int]:
    return list(
        AppleDeviceRegistration.objects.filter(apple_pass__card__program_id=program_id, unregistered_at__isnull=True)
        .values_list("apple_pass__card_id", flat=True)
        .distinct()
        .order_by("apple_pass__card_id")
    )


def card_has_active_registrations(*, card_id: int) -> bool:
    return AppleDeviceRegistration.objects.filter(apple_pass__card_id=card_id, unregistered_at__isnull=True).exists()
