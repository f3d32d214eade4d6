"""Section "Fraud alerts" of the bench: the detector on the million-row data set, and its cost against history.

The 15-minute job runs ``alerts_detect`` for each merchant over the ledger
since its last run. Here it runs for the data set's biggest merchant over a
15-minute window (``lookback``; the 7-day staff rules read their own 7
local days whatever the lookback), its stores given opening hours so the
out-of-hours rule reads its closed intervals too:

1. at the end of the history (a year of ledger before the window) — target
   under 2 s;
2. at the start of the history (a week of ledger before it), the same code
   on the same merchant: the detector's cost follows the rows in its
   windows, not the rows before them, so the two stay close; the detail
   gives the rows each reads, and ``end ÷ start`` is held under 1.5 when
   the windows hold as many rows (it is reported, not judged, when they do
   not: the data set's early weeks are quieter).

Every run's findings are rolled back, so each of the runs does the whole
work. As in section 5, each captured SELECT on a big table is explained; a
sequential scan of one fails the figure, and the detail lists the indexes
the plans use.
"""

from __future__ import annotations

import sys
from datetime import time, timedelta

from bench.reads import figure_for, main_on_dataset, measure
from bench.report import Figure

SECTION = "Fraud alerts"
TARGET_MS = 2000
WINDOW = timedelta(minutes=15)
REPEAT = 10
# Shops open 07:00–19:00 on weekdays, Saturday 08:00–02:00 (a night across midnight), closed on Sundays.
OPENING_HOURS = [(day, time(7), time(19)) for day in range(5)] + [(5, time(8), time(2))]
COMPARABLE_ROWS = 0.8  # windows within 20% of each other's rows: their times are compared


def _with_opening_hours(merchant) -> None:
    from loyalty.models import Store, StoreOpeningHours

    for store in Store.objects.filter(merchant=merchant, opening_hours__isnull=True):
        StoreOpeningHours.objects.bulk_create(
            StoreOpeningHours(store=store, weekday=weekday, opens=opens, closes=closes)
            for weekday, opens, closes in OPENING_HOURS
        )


def _detect_and_roll_back(merchant, now):
    from django.db import transaction

    from loyalty.services.alerts import alerts_detect

    with transaction.atomic():
        found = alerts_detect(merchant=merchant, now=now, lookback=WINDOW)
        transaction.set_rollback(True)
    return found


def _window_rows(merchant, now) -> dict:
    from loyalty.models import LoyaltyTransaction

    rows = LoyaltyTransaction.objects.filter(merchant=merchant)
    return {
        "history": rows.filter(created_at__lt=now - WINDOW).count(),
        "window": rows.filter(created_at__gte=now - WINDOW, created_at__lte=now).count(),
        "seven_days": rows.filter(created_at__gte=now - timedelta(days=8), created_at__lte=now).count(),
    }


def run(*, repeat: int = REPEAT) -> list[Figure]:
    from django.db.models import Max, Min

    from bench.reads import subjects
    from loyalty.models import LoyaltyTransaction

    merchant = subjects(sample=1).merchant
    _with_opening_hours(merchant)
    history = LoyaltyTransaction.objects.filter(merchant=merchant)
    bounds = history.aggregate(first=Min("created_at"), last=Max("created_at"))
    points = {"end": bounds["last"], "start": bounds["first"] + timedelta(days=8)}
    figures, measured = [], {}
    for label, now in points.items():
        rows = _window_rows(merchant, now)
        measurement = measure(lambda run, now=now: _detect_and_roll_back(merchant, now), repeat=repeat)
        measured[label] = (measurement, rows)
        figures.append(figure_for(
            f"detector, 15-minute window at the {label} of the history (biggest merchant)",
            measurement,
            TARGET_MS,
            f"{rows['history']:,} ledger rows before the window, {rows['window']:,} in it, "
            f"{rows['seven_days']:,} in the 7-day staff window",
        ))
    (end, end_rows), (start, start_rows) = measured["end"], measured["start"]
    ratio = end.p50 / start.p50 if start.p50 else 0.0
    comparable = min(end_rows["seven_days"], start_rows["seven_days"]) >= COMPARABLE_ROWS * max(
        end_rows["seven_days"], start_rows["seven_days"]
    )
    per_row = {
        label: measurement.p50 / max(rows["seven_days"], 1) * 1000 for label, (measurement, rows) in measured.items()
    }
    figures.append(Figure(
        SECTION, "detector time, end ÷ start of the history", ratio, "×",
        target="< 1.5 (when the windows hold as many rows)", passed=(ratio < 1.5) if comparable else None,
        detail=(
            f"history {start_rows['history']:,} → {end_rows['history']:,} rows before the window; "
            f"µs per row of the 7-day window: start {per_row['start']:.1f}, end {per_row['end']:.1f}"
        ),
    ))
    for figure in figures:
        figure.section = SECTION
    return figures


def main(argv=None) -> int:
    return main_on_dataset(
        run, argv, description="The fraud-alert detector on the data set (made first if missing)."
    )


if __name__ == "__main__":
    sys.exit(main())
