"""The staff activity report: per staff member and per store-local day, what they did at the till.

A staff member is their PIN (``staff_pin``), or their user when they acted
without one (a manager at the till, an owner's adjustment); rows made by
nobody (imports, expiry, customers joining online) are not anyone's
activity. Days are the calendar days of each store's zone; rows without a
store (back-office adjustments) count in the merchant's zone.

Two grouped queries per zone over the period, through the ledger's
``(merchant, created_at)`` and ``(store, created_at)`` indexes: one for the
counts, one for the earning operations made while the store was closed
(stores without opening hours have none).
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Q, When
from django.db.models.functions import TruncDate

from loyalty.models import LoyaltyTransaction, Merchant, Store, TransactionType
from loyalty.selectors.opening_hours import out_of_hours_filter, store_hours_for_merchant

# The report's columns of counts, each the ledger types it counts.
KIND_COLUMNS = {
    "stamps_earned": (TransactionType.STAMP_EARNED,),
    "stamp_rewards": (TransactionType.STAMP_REDEEMED,),
    "points_earned": (TransactionType.POINTS_EARNED,),
    "points_redeemed": (TransactionType.POINTS_REDEEMED,),
    "voids": (TransactionType.STAMP_VOIDED, TransactionType.POINTS_VOIDED),
    "adjustments": (TransactionType.POINTS_ADJUSTED,),
    "enrollments": (TransactionType.CARD_ENROLLED,),
}
EARNING_TYPES = (TransactionType.STAMP_EARNED, TransactionType.POINTS_EARNED)
MAX_DAYS = 93


@dataclass
class StaffDay:
    day: date
    staff_pin_id: int | None
    user_id: int | None
    staff: str = ""
    store: str = ""
    operations: int = 0
    stamps_earned: int = 0
    stamp_rewards: int = 0
    points_earned: int = 0
    points_redeemed: int = 0
    voids: int = 0
    adjustments: int = 0
    enrollments: int = 0
    distinct_cards: int = 0
    out_of_hours: int = 0


def _staff_filter() -> Q:
    return Q(staff_pin__isnull=False) | Q(acting_user__isnull=False)


def _zones(merchant: Merchant, store_ids) -> dict[str, list[int | None]]:
    """Store ids by zone name; ``None`` (rows without a store) in the merchant's first store's zone."""
    stores = Store.objects.for_merchant(merchant).order_by("pk")
    if store_ids is not None:
        stores = stores.filter(pk__in=store_ids)
    by_zone: dict[str, list[int | None]] = defaultdict(list)
    for store_id, zone_name in stores.values_list("pk", "timezone"):
        by_zone[zone_name].append(store_id)
    if store_ids is None:
        first_zone = Store.objects.for_merchant(merchant).order_by("pk").values_list("timezone", flat=True).first()
        by_zone[first_zone or settings.TIME_ZONE].append(None)
    return by_zone


def staff_activity(*, merchant: Merchant, first_day: date, last_day: date, store_ids=None) -> list[StaffDay]:
    """The merchant's staff activity from ``first_day`` to ``last_day`` (store-local, inclusive), newest day first.

    ``store_ids`` narrows to those stores (a manager's, or the one chosen);
    ``None`` is every store and the rows without one.
    """
    report: dict[tuple, StaffDay] = {}
    hours = store_hours_for_merchant(merchant=merchant, store_ids=store_ids)
    for zone_name, zone_store_ids in _zones(merchant, store_ids).items():
        zone = zoneinfo.ZoneInfo(zone_name)
        start = datetime.combine(first_day, time.min, tzinfo=zone)
        end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
        in_stores = Q(store_id__in=[pk for pk in zone_store_ids if pk is not None])
        if None in zone_store_ids:
            in_stores |= Q(store__isnull=True)
        rows = LoyaltyTransaction.objects.filter(
            in_stores, _staff_filter(), merchant=merchant, created_at__gte=start, created_at__lt=end
        )
        # The staff member: the PIN, else the user (whoever signed the till in does not split a PIN's day).
        rows = rows.annotate(
            local_day=TruncDate("created_at", tzinfo=zone),
            staff_user=Case(When(staff_pin__isnull=True, then="acting_user_id"), default=None),
        )
        counts = (
            rows.order_by()
            .values("local_day", "staff_pin_id", "staff_user")
            .annotate(
                operations=Count("pk"),
                distinct_cards=Count("card_id", distinct=True),
                **{name: Count("pk", filter=Q(type__in=types)) for name, types in KIND_COLUMNS.items()},
            )
        )
        for entry in counts:
            key = _key(entry)
            row = report.setdefault(key, StaffDay(day=key[0], staff_pin_id=key[1], user_id=key[2]))
            for name in ("operations", "distinct_cards", *KIND_COLUMNS):
                setattr(row, name, getattr(row, name) + entry[name])
        zone_hours = {pk: value for pk, value in hours.items() if pk in zone_store_ids}
        closed = out_of_hours_filter(hours=zone_hours, start=start, end=end)
        if closed is not None:
            late = (
                rows.filter(closed, type__in=EARNING_TYPES)
                .order_by()
                .values("local_day", "staff_pin_id", "staff_user")
                .annotate(operations=Count("pk"))
            )
            for entry in late:
                report[_key(entry)].out_of_hours += entry["operations"]
    rows = list(report.values())
    _name(rows)
    return sorted(rows, key=lambda row: (-row.day.toordinal(), row.staff.lower(), row.staff_pin_id or 0))


def _key(entry: dict) -> tuple:
    return (entry["local_day"], entry["staff_pin_id"], entry["staff_user"])


def _name(rows: list[StaffDay]) -> None:
    from staff.models import StaffPin  # staff depends on loyalty's models; import late

    pins = {
        pin.pk: pin
        for pin in StaffPin.objects.filter(
            pk__in={row.staff_pin_id for row in rows if row.staff_pin_id}
        ).select_related("store")
    }
    users = dict(
        get_user_model()
        .objects.filter(pk__in={row.user_id for row in rows if row.user_id})
        .values_list("pk", "username")
    )
    for row in rows:
        if row.staff_pin_id is not None:
            pin = pins[row.staff_pin_id]
            row.staff, row.store = pin.name, pin.store.name
        else:
            row.staff = users.get(row.user_id, "")
