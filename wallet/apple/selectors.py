"""Reads of the Apple Wallet side.

Passes are found by serial number alone: to a device (and to the download
URL) the serial is the identifier, and the pass itself names its merchant.
"""

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from loyalty.selectors.wallet import (
    NEWS_AUTOMATIC_EXCLUDED_KIND,
    NEWS_AUTOMATIC_STATUS,
    NEWS_STATUSES,
    card_pass_annotations,
    pass_source_models,
)
from loyalty_site.db import prepared_fetch_one
from wallet.models import AppleDeviceRegistration, ApplePass

# The serials we issue (hex) fit this; the download URL accepts nothing else.
SERIAL_PATTERN = r"[A-Za-z0-9]{1,64}"
_SERIAL = re.compile(SERIAL_PATTERN)


@dataclass(frozen=True)
class PassSource:
    """Everything a pass is built from, read in one statement: the pass, its card and holder, and
    what stands for its program version (``design_key``, see wallet/apple/builder.py)."""

    apple_pass_id: int
    card_id: int
    program_id: int
    serial_number: str
    authentication_token: str
    change_tag: int
    changed_at: datetime
    card_number: str
    qr_code_data: str
    stamp_count: int
    points_balance: int
    card_is_active: bool
    member_name: str  # empty once the customer's personal data is erased
    design_key: tuple
    news_id: int | None  # the latest campaign that reached the card
    news_automatic_id: int | None  # the latest automatic message (loyalty.selectors.wallet.card_news_pick chooses)


def apple_pass_get_by_serial(*, serial_number: str) -> ApplePass | None:
    """The pass row, or None; a serial we could not have issued is unknown without asking the
    database, which may refuse it (PostgreSQL cannot hold a NUL byte)."""
    if not _SERIAL.fullmatch(serial_number):
        return None
    return ApplePass.objects.filter(serial_number=serial_number).first()


# --- The pass's source, twice: hand-written SQL (what runs) and the ORM (what it must equal) -------------
# A device fetches its pass after every push, a campaign makes every device fetch at once: the one read
# of a pass is the hottest of the wallet. The ORM builds this statement in ~1 ms of CPU, more than the
# rest of the pass without the signature; the same statement written by hand costs nothing to build.
# tests/wallet/apple run every pass test against both (``PASS_SOURCE_READERS``).

_SOURCE_SQL = """
SELECT p.id, p.card_id, c.program_id, p.serial_number, p.authentication_token, p.change_tag, p.changed_at,
       c.card_number, c.qr_code_data, c.stamp_count, c.points_balance, c.is_active,
       CASE WHEN cu.erased_at IS NULL THEN cu.full_name ELSE '' END,
       pr.updated_at, pr.name, pr.loyalty_type, pr.stamps_target, pr.stamps_reward_description, pr.points_per_euro,
       pr.minimum_purchase_cents, pr.terms_text, pr.privacy_url, pr.background_color, pr.text_color, pr.logo,
       m.id, m.updated_at, m.name,
       (SELECT COUNT(*) || ' ' || COALESCE(CAST(MAX(r.updated_at) AS TEXT), '')
         FROM {reward} r WHERE r.program_id = c.program_id),
       (SELECT COUNT(*) || ' ' || COALESCE(CAST(MAX(s.updated_at) AS TEXT), '')
         FROM {store} s WHERE s.merchant_id = c.merchant_id),
       (SELECT k.id FROM {campaign} k JOIN {delivery} d ON d.campaign_id = k.id
         WHERE k.merchant_id = c.merchant_id AND d.card_id = c.id AND k.status IN (%s, %s)
         ORDER BY k.started_at DESC, k.id DESC LIMIT 1),
       (SELECT a.id FROM {automatic} a WHERE a.card_id = c.id AND a.status = %s AND a.kind <> %s
         ORDER BY a.sent_at DESC, a.id DESC LIMIT 1)
FROM {apple_pass} p
JOIN {card} c ON c.id = p.card_id
JOIN {customer} cu ON cu.id = c.customer_id
JOIN {program} pr ON pr.id = c.program_id
JOIN {merchant} m ON m.id = c.merchant_id
WHERE p.{column} = %s
"""


@functools.cache
def _source_sql(column: str) -> str:
    from django.db import connection

    models = {"apple_pass": ApplePass, **pass_source_models()}
    tables = {name: connection.ops.quote_name(model._meta.db_table) for name, model in models.items()}
    return _SOURCE_SQL.format(column=column, **tables)


def _aware_time(value):
    """SQLite gives naive UTC datetimes to a raw cursor (the ORM makes them aware)."""
    if isinstance(value, datetime) and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


def _source_from_row(row, *, naive_times: bool = False) -> PassSource:
    """``naive_times``: the row's times may be naive UTC (SQLite: a raw cursor, the ORM's subqueries)."""
    (pass_id, card_id, program_id, serial, token, tag, changed_at, number, qr, stamps, points, active, member,
     *design, news_id, news_automatic_id) = row  # fmt: skip
    if naive_times:
        changed_at, design = _aware_time(changed_at), [_aware_time(value) for value in design]
    return PassSource(
        apple_pass_id=pass_id, card_id=card_id, program_id=program_id, serial_number=serial,
        authentication_token=token, change_tag=tag, changed_at=changed_at, card_number=number,
        qr_code_data=qr, stamp_count=stamps, points_balance=points, card_is_active=bool(active),
        member_name=member or "", design_key=(program_id, *design), news_id=news_id,
        news_automatic_id=news_automatic_id,
    )  # fmt: skip


def pass_source_read_sql(*, serial_number: str | None = None, apple_pass_id: int | None = None) -> PassSource | None:
    column, value = ("serial_number", serial_number) if apple_pass_id is None else ("id", apple_pass_id)
    # Prepared: planning its 5 joins and 4 sub-plans costs more than running them (loyalty_site/db.py).
    connection = connections[DEFAULT_DB_ALIAS]
    row = prepared_fetch_one(
        _source_sql(column),
        [*NEWS_STATUSES, NEWS_AUTOMATIC_STATUS, NEWS_AUTOMATIC_EXCLUDED_KIND, value],
        connection=connection,
        binary=True,
    )
    return None if row is None else _source_from_row(row, naive_times=connection.vendor != "postgresql")


def pass_source_read_orm(*, serial_number: str | None = None, apple_pass_id: int | None = None) -> PassSource | None:
    passes = (
        ApplePass.objects.select_related("card__program", "card__merchant", "card__customer")
        .only(*PASS_BUILD_FIELDS)
        .annotate(**card_pass_annotations(card_path="card__"))
    )
    found = passes.filter(**({"serial_number": serial_number} if apple_pass_id is None else {"pk": apple_pass_id}))
    apple_pass = found.first()
    if apple_pass is None:
        return None
    card = apple_pass.card
    program, merchant, customer = card.program, card.merchant, card.customer
    return _source_from_row((
        apple_pass.pk, card.pk, program.pk, apple_pass.serial_number, apple_pass.authentication_token,
        apple_pass.change_tag, apple_pass.changed_at, card.card_number, card.qr_code_data, card.stamp_count,
        card.points_balance, card.is_active, customer.full_name if customer.erased_at is None else "",
        program.updated_at, program.name, program.loyalty_type, program.stamps_target,
        program.stamps_reward_description, program.points_per_euro, program.minimum_purchase_cents,
        program.terms_text, program.privacy_url, program.background_color, program.text_color, program.logo.name,
        merchant.pk, merchant.updated_at, merchant.name,
        apple_pass.pass_rewards_version, apple_pass.pass_stores_version, apple_pass.pass_news_id,
        apple_pass.pass_news_automatic_id,
    ), naive_times=connections[DEFAULT_DB_ALIAS].vendor != "postgresql")  # fmt: skip


# The columns the ORM version reads, nothing else.
PASS_BUILD_FIELDS = (
    "card_id", "serial_number", "authentication_token", "change_tag", "changed_at",
    "card__merchant_id", "card__program_id", "card__customer_id", "card__card_number", "card__qr_code_data",
    "card__stamp_count", "card__points_balance", "card__is_active",
    "card__customer__full_name", "card__customer__erased_at",
    "card__merchant__name", "card__merchant__updated_at",
    "card__program__merchant_id", "card__program__name", "card__program__loyalty_type",
    "card__program__stamps_target", "card__program__stamps_reward_description", "card__program__points_per_euro",
    "card__program__minimum_purchase_cents", "card__program__terms_text", "card__program__privacy_url",
    "card__program__background_color", "card__program__text_color", "card__program__logo",
    "card__program__updated_at",
)  # fmt: skip
PASS_SOURCE_READERS = {"sql": pass_source_read_sql, "orm": pass_source_read_orm}
# Which one the views and the builder use (the tests switch it to run against each).
pass_source_reader = {"read": pass_source_read_sql}


def pass_source_get(*, serial_number: str | None = None, apple_pass_id: int | None = None) -> PassSource | None:
    """The source of the pass with this serial (or id), or None. An impossible serial asks nothing."""
    if apple_pass_id is None and not _SERIAL.fullmatch(serial_number or ""):
        return None
    return pass_source_reader["read"](serial_number=serial_number, apple_pass_id=apple_pass_id)


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
