"""Section 6 of the bench, second half: the memory of the CSV export of the whole ledger.

The admin's "Export these rows (CSV)" (``LoyaltyTransactionAdmin.export_view``)
streams the changelist's rows read in chunks through a server-side cursor,
so its memory must not grow with the number of rows: issue #10 holds it
under 150 MB for the million rows of the bench data set.

Measured in a fresh process (``python -m bench.export_memory --child``, the
bench's environment inherited), so nothing else the bench did counts: it
sets Django up, logs a platform administrator in with ``force_login``,
notes its RSS (the baseline), GETs ``export.csv`` through
``django.test.Client`` — the whole middleware and admin stack — and
consumes ``streaming_content``, counting rows and bytes and sampling the
RSS as it goes. The peak is the process's ``VmHWM`` (see
:func:`peak_rss_mb` for why not ``ru_maxrss``). The figure fails when a row is
missing (every ledger row plus the header must come out) as well as when
the peak reaches the ceiling.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.report import Figure

SECTION = "Memory"
CEILING_MB = 150
ADMIN_USERNAME = "bench-export-admin"
SAMPLES = 10  # RSS readings spread over the export: flat or growing
TIMEOUT_SECONDS = 900


def run() -> list[Figure]:
    """The export figure, measured in a child process on the current bench database."""
    from loyalty.models import LoyaltyTransaction

    expected = LoyaltyTransaction.objects.count()
    finished = subprocess.run(
        [sys.executable, "-m", "bench.export_memory", "--child", "--expect", str(expected)],
        check=False, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=os.environ.copy(),
        cwd=Path(__file__).resolve().parent.parent,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"bench: the export probe failed:\n{finished.stderr[-3000:]}")
    return [figure_from(json.loads(finished.stdout.strip().splitlines()[-1]), expected=expected)]


def figure_from(result: dict, *, expected: int) -> Figure:
    rows = result["rows"]
    complete = rows == expected
    rate = rows / result["seconds"] if result["seconds"] else 0.0
    detail = (
        f"baseline {result['baseline_mb']:.0f} MB, growth {result['peak_mb'] - result['baseline_mb']:.1f} MB; "
        f"{rows:,} of {expected:,} rows ({result['bytes'] / 1e6:.0f} MB of CSV) in {result['seconds']:.1f} s, "
        f"{rate:,.0f} rows/s"
    )
    if not complete:
        detail += f"; **{expected - rows:,} rows missing**"
    figure = Figure.under(
        SECTION, f"CSV export of all {expected:,} transactions, peak RSS", result["peak_mb"], "MB", CEILING_MB,
        detail, expected_rows=expected, rows_per_second=round(rate), **result,
    )
    figure.passed = figure.passed and complete
    return figure


# --- The child process ----------------------------------------------------------------------------------------


def _status_mb(field_name: str) -> float | None:
    """A field of /proc/self/status (Linux), in MB; None elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """The process's resident set now, in MB."""
    return _status_mb("VmRSS") or 0.0


def peak_rss_mb() -> float:
    """The highest resident set of this process so far, in MB.

    ``VmHWM``, not ``ru_maxrss``: on Linux a child's ``ru_maxrss`` starts at
    its parent's RSS at fork (it survives ``exec``), so after the bench's
    other sections it reported the orchestrator's 137 MB for a child that
    never went above 101 MB. ``ru_maxrss`` is the fallback off Linux.
    """
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    maximum = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maximum / (1024 * 1024) if sys.platform == "darwin" else maximum / 1024


def platform_admin():
    """A superuser without a membership: the one who sees (and exports) every merchant's ledger."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=ADMIN_USERNAME).first()
    if user is None:
        user = get_user_model().objects.create_superuser(
            username=ADMIN_USERNAME, email="bench-export@example.com", password=None
        )
    return user


def export_measure(*, expected: int) -> dict:
    """GET the export as the platform administrator and read it to the end; the numbers of the figure."""
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(platform_admin())
    url = reverse("admin:loyalty_loyaltytransaction_export")
    baseline, peak_before = rss_mb(), peak_rss_mb()
    began = time.monotonic()
    response = client.get(url)
    if response.status_code != 200 or not response.streaming:
        raise SystemExit(f"bench: export answered {response.status_code} (streaming: {response.streaming})")
    answered = rss_mb()  # the view ran (first admin request: templates, URL resolvers); no row read yet
    chunks = size = 0
    every = max(1, (expected + 1) // SAMPLES)
    samples = []
    for chunk in response.streaming_content:  # one CSV line per chunk: the header, then a row each
        chunks += 1
        size += len(chunk)
        if chunks % every == 0:
            samples.append(round(rss_mb(), 1))
    response.close()
    seconds = time.monotonic() - began
    return {
        "baseline_mb": round(baseline, 1),
        "peak_before_request_mb": round(peak_before, 1),
        "after_response_mb": round(answered, 1),
        "peak_mb": round(peak_rss_mb(), 1),
        "rss_samples_mb": samples,
        "rows": chunks - 1,
        "bytes": size,
        "seconds": round(seconds, 2),
    }


def child(argv) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--expect", type=int, required=True)
    args = parser.parse_args(argv)
    from bench import environment

    environment.setup_django()  # the parent's environment: same database, same settings
    print(json.dumps(export_measure(expected=args.expect)))
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        return child(argv)
    from bench.dataset import section_main

    return section_main(argv, run=run, description="The CSV export's memory on the data set (made first if missing).")


if __name__ == "__main__":
    sys.exit(main())
