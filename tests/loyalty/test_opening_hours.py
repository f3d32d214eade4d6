"""Opening hours as instants: ranges across midnight, closed days, and both DST nights in Europe/Luxembourg."""

import zoneinfo
from datetime import UTC, datetime, time

import pytest

from loyalty.domain.opening_hours import OpeningRange, closed_intervals, first_instant_at, is_open

LUX = zoneinfo.ZoneInfo("Europe/Luxembourg")
SATURDAY, SUNDAY, MONDAY = 5, 6, 0
# 2025: summer time starts Sunday 30 March (02:00 CET → 03:00 CEST), ends Sunday 26 October (03:00 → 02:00).
NIGHTS = [OpeningRange(SATURDAY, time(18), time(2, 30)), OpeningRange(SUNDAY, time(9), time(17))]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2025, 3, 8, 16, 59), False),  # Saturday 17:59 CET: not yet open
        (utc(2025, 3, 8, 17, 0), True),  # Saturday 18:00 CET
        (utc(2025, 3, 9, 1, 29), True),  # Sunday 02:29 CET: the night goes on past midnight
        (utc(2025, 3, 9, 1, 30), False),  # Sunday 02:30 CET: closed
        (utc(2025, 3, 9, 8, 0), True),  # Sunday 09:00 CET
        (utc(2025, 3, 10, 10, 0), False),  # Monday: no range, a closed day
    ],
)
def test_a_night_across_midnight_and_a_closed_day(at, expected):
    assert is_open(NIGHTS, LUX, at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2025, 3, 30, 0, 59), True),  # 01:59 CET, the last minute before the jump
        (utc(2025, 3, 30, 1, 0), False),  # 03:00 CEST: the clock skipped 02:30, so the night ended at the jump
        (utc(2025, 3, 30, 6, 59), False),  # 08:59 CEST (an offset taken from the winter would say 07:59)
        (utc(2025, 3, 30, 7, 0), True),  # 09:00 CEST: Sunday opens on the summer clock
        (utc(2025, 3, 30, 14, 59), True),  # 16:59 CEST
        (utc(2025, 3, 30, 15, 0), False),  # 17:00 CEST
    ],
)
def test_spring_forward_night(at, expected):
    assert is_open(NIGHTS, LUX, at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2025, 10, 26, 0, 29), True),  # 02:29 CEST, first pass through the repeated hour
        (utc(2025, 10, 26, 0, 30), False),  # 02:30 CEST: closing time, the first time the clock reads it
        (utc(2025, 10, 26, 1, 15), False),  # 02:15 CET, the repeated hour: after closing
        (utc(2025, 10, 26, 7, 59), False),  # 08:59 CET
        (utc(2025, 10, 26, 8, 0), True),  # 09:00 CET
        (utc(2025, 10, 26, 15, 59), True),  # 16:59 CET
        (utc(2025, 10, 26, 16, 0), False),  # 17:00 CET
    ],
)
def test_fall_back_night(at, expected):
    assert is_open(NIGHTS, LUX, at) is expected


def test_a_skipped_time_happens_at_the_jump_and_a_repeated_time_at_its_first_pass():
    assert first_instant_at(datetime(2025, 3, 30, 2, 30), LUX) == utc(2025, 3, 30, 1, 0)
    assert first_instant_at(datetime(2025, 10, 26, 2, 30), LUX) == utc(2025, 10, 26, 0, 30)


def test_closed_intervals_of_a_day_and_a_store_without_hours():
    day_start, day_end = utc(2025, 3, 8, 23, 0), utc(2025, 3, 9, 23, 0)  # Sunday 9 March, local
    assert closed_intervals(NIGHTS, LUX, day_start, day_end) == [
        (utc(2025, 3, 9, 1, 30), utc(2025, 3, 9, 8, 0)),
        (utc(2025, 3, 9, 16, 0), day_end),
    ]
    assert closed_intervals([], LUX, day_start, day_end) == []
    assert closed_intervals([OpeningRange(SUNDAY, time(0), time(0))], LUX, day_start, day_end) == []  # all day
    assert is_open([], LUX, utc(2025, 3, 10, 3, 0))  # no hours: never "closed"


def test_monday_opening_after_a_sunday_night():
    sunday_night = [OpeningRange(SUNDAY, time(20), time(1)), OpeningRange(MONDAY, time(7), time(12))]
    assert (
        is_open(sunday_night, LUX, utc(2025, 3, 10, 23, 30)) is False
    )  # Tuesday 00:30 CET: Monday's range ended at noon
    assert is_open(sunday_night, LUX, utc(2025, 3, 9, 23, 30))  # Monday 10 March 00:30 CET, Sunday night
