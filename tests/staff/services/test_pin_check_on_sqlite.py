"""On the embedded default, a PIN check does not hold the database's write lock while bcrypt runs.

SQLite runs with IMMEDIATE transactions, so any open transaction holds the
one write lock of the whole database: a PIN check that ran bcrypt inside
one made every other store's operation wait. The test database of this
suite is an in-memory one with shared-cache locking, not what the embedded
run uses, so the probe runs in a process of its own on a SQLite file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_other_stores_operate_while_a_pin_is_inside_bcrypt(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DATABASE_URL": "",  # empty, not unset: a .env beside manage.py must not switch to PostgreSQL
            "SQLITE_PATH": str(tmp_path / "embedded.sqlite3"),
            "DEBUG": "true",
            "LOYALTY_PIN_BCRYPT_ROUNDS": "4",
            "DJANGO_SETTINGS_MODULE": "loyalty_site.settings",
        }
    )

    result = subprocess.run(
        [sys.executable, "-m", "tests.staff.services.pin_check_probe"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["finished_while_held"] == ["other_pin", "without_pin"], report
    assert report["outcomes"] == {"held": "stamped", "without_pin": "stamped", "other_pin": "stamped"}
    assert report["stamps"] == 3
