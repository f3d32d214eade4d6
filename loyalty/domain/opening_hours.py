"""Store opening hours as instants: when a store is open or closed between two times.

Opening hours are wall-clock times in the store's zone, per weekday
(``StoreOpeningHours``): a range whose closing time is at or before its
opening time ends on the next day (18:00–02:00), and 00:00–00:00 is a whole
day. A store opens and closes at the first instant its clock reads the time
or later, which settles the two daylight-saving nights:

* spring forward (Europe/Luxembourg, last Sunday of March, 02:00 → 03:00):
  a time in the skipped hour happens at the jump, so a night that ends at
  02:30 ends at 03:00 summer time;
* fall back (last Sunday of October, 03:00 → 02:00): a time in the repeated
  hour is its first occurrence, so a night that ends at 02:30 ends before
  the clock goes back, and the repeated 02:00–03:00 is after closing.

The detector and the staff activity report ask for the *closed* intervals
of a period as UTC pairs, so the database returns only the ledger rows made
while a store was closed.
"""

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple


class OpeningRange(NamedTuple):
    weekday: int  # Monday 0 … Sunday 6, as date.weekday()
    opens: time
    closes: time


Interval = tuple[datetime, datetime]  # [start, end) in UTC


def _wall(instant: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def first_instant_at(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock in ``zone`` reads ``wall`` (naive) or later."""
    candidates = [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    existing = [instant for instant in candidates if _wall(instant, zone) == wall]
    if existing:
        return min(existing)  # the first of a repeated time
    # A time the clock skips: the jump itself, between the two readings (seconds are enough).
    low, high = min(candidates), max(candidates)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _wall(middle, zone) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _open_intervals(
    ranges: Iterable[OpeningRange], zone: zoneinfo.ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    by_weekday: dict[int, list[OpeningRange]] = {}
    for opening in ranges:
        by_weekday.setdefault(opening.weekday, []).append(opening)
    intervals = []
    day: date = start.astimezone(zone).date() - timedelta(days=1)  # yesterday's night may reach into today
    last_day = end.astimezone(zone).date()
    while day <= last_day:
        for opening in by_weekday.get(day.weekday(), ()):
            closing_day = day + timedelta(days=1) if opening.closes <= opening.opens else day
            opened = first_instant_at(datetime.combine(day, opening.opens), zone)
            closed = first_instant_at(datetime.combine(closing_day, opening.closes), zone)
            if opened < end and closed > start:
                intervals.append((max(opened, start), min(closed, end)))
        day += timedelta(days=1)
    merged: list[Interval] = []
    for interval_start, interval_end in sorted(intervals):
        if merged and interval_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], interval_end))
        else:
            merged.append((interval_start, interval_end))
    return merged


def closed_intervals(
    ranges: Iterable[OpeningRange], zone: zoneinfo.ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """The parts of [start, end) when the store is closed, in UTC; [] for a store with no ranges at all."""
    ranges = list(ranges)
    if not ranges:
        return []  # no opening hours: nothing is "out of hours"
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    closed, cursor = [], start
    for opened, closing in _open_intervals(ranges, zone, start, end):
        if opened > cursor:
            closed.append((cursor, opened))
        cursor = max(cursor, closing)
    if cursor < end:
        closed.append((cursor, end))
    return closed


def is_open(ranges: Iterable[OpeningRange], zone: zoneinfo.ZoneInfo, at: datetime) -> bool:
    """Whether a store with these ranges is open at ``at`` (a store with none is never "closed")."""
    ranges = list(ranges)
    return not ranges or not closed_intervals(ranges, zone, at, at + timedelta(microseconds=1))
