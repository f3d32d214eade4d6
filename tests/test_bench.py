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

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.postgres


def test_quick_bench_run_measures_every_till_figure(tmp_path):
    from django.db import connection

    settings = connection.settings_dict
    database = f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/loyalty_bench_smoke"
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(BENCH_RESULTS_DIR=str(tmp_path), BENCH_PORT="8799")
    finished = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--skip-scale", "--duration", "1", "--database", database],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
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
