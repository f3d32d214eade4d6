"""Reads of the stores' opening hours, and the ledger filter "made while the store was closed"."""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from loyalty.domain.opening_hours import OpeningRange, closed_intervals
from loyalty.models import Merchant, StoreOpeningHours


@dataclass(frozen=True)
class StoreHours:
    store_id: int
    zone: zoneinfo.ZoneInfo
    ranges: tuple[OpeningRange, ...]


def store_hours_for_merchant(*, merchant: Merchant, store_ids=None) -> dict[int, StoreHours]:
    """The merchant's stores that have opening hours (a store without any is left out), by id."""
    rows = StoreOpeningHours.objects.for_merchant(merchant).values_list(
        "store_id", "store__timezone", "weekday", "opens", "closes"
    )
    if store_ids is not None:
        rows = rows.filter(store_id__in=store_ids)
    ranges: dict[int, list[OpeningRange]] = {}
    zones: dict[int, str] = {}
    for store_id, zone_name, weekday, opens, closes in rows:
        ranges.setdefault(store_id, []).append(OpeningRange(weekday, opens, closes))
        zones[store_id] = zone_name
    return {
        store_id: StoreHours(store_id=store_id, zone=zoneinfo.ZoneInfo(zones[store_id]), ranges=tuple(store_ranges))
        for store_id, store_ranges in ranges.items()
    }


def out_of_hours_filter(*, hours: dict[int, StoreHours], start: datetime, end: datetime) -> Q | None:
    """Ledger rows of [start, end) made at a store while it was closed; None when there can be none.

    One range condition per closed interval, each on (store, created_at), so the
    database reads only those rows through its (store, created_at) index.
    """
    condition = Q()
    for store_hours in hours.values():
        for closed_start, closed_end in closed_intervals(store_hours.ranges, store_hours.zone, start, end):
            condition |= Q(store_id=store_hours.store_id, created_at__gte=closed_start, created_at__lt=closed_end)
    return condition or None
