"""`make bench` keeps working: a short run of its till and pass sections against real gunicorn.

The figures themselves are not judged here (speed targets live in the
benchmark, not in unit tests); this asserts the bench runs end to end,
measures every figure of those sections and writes its results.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.environment import drop_database
from tests.support.resources import current_database_url, free_port, redis_url_for_tests

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.postgres


def test_quick_bench_run_measures_every_till_figure(tmp_path):
    # The bench drops and makes its database: one named after this run's test database, so no other run's.
    database = current_database_url() + "_bench"
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    # Its cache is the Redis this run was given (the bench only counts throttles there, never flushes).
    env.update(BENCH_RESULTS_DIR=str(tmp_path), BENCH_PORT=str(free_port()), BENCH_CACHE_URL=redis_url_for_tests())
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "bench.run", "--quick", "--skip-scale", "--duration", "1", "--database", database],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        drop_database(database)
    assert finished.returncode in (0, 1), finished.stderr[-3000:]  # 1: a target missed, still a complete run
    results = json.loads((tmp_path / "latest.json").read_text())
    names = {figure["name"] for figure in results["figures"]}
    sections = {figure["section"] for figure in results["figures"]}
    assert {"Till throughput", "PIN cost", "Hot card", "Pass generation", "Memory"} <= sections
    assert "stamps/s, 8 clients, no PIN" in names and "points earn/s, 8 clients, no PIN" in names
    for figure in results["figures"]:
        assert figure["value"] > 0, figure
    hot = next(figure for figure in results["figures"] if figure["section"] == "Hot card")
    assert hot["passed"], hot["detail"]  # the daily limit held exactly under 8 concurrent clients
    assert "| section | figure |" in finished.stdout
