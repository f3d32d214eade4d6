"""Machine-wide resources a test run uses, named so that two runs on one machine never meet.

Two checkouts (or two CI jobs) may test at the same time on one machine with
one PostgreSQL server and one Redis. So:

- the PostgreSQL test database is ``TEST_DATABASE_NAME`` when set, else
  ``test_loyalty_<run id>``, unique to this run (``tests/conftest.py``);
- Redis is only ever the one ``TEST_REDIS_URL`` names (default
  ``redis://127.0.0.1:6379/15``), and nothing in it is flushed: cache keys
  carry this run's prefix, Celery tasks go through this run's own queue, and
  a test deletes only the keys it made;
- ports are chosen free by the operating system, never fixed.
"""

import os
import socket
import urllib.parse
import uuid

RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


def database_name_for_tests() -> str:
    return os.environ.get("TEST_DATABASE_NAME") or f"test_loyalty_{RUN_ID}"


def redis_url_for_tests() -> str:
    return os.environ.get("TEST_REDIS_URL") or DEFAULT_TEST_REDIS_URL


def redis_key_prefix() -> str:
    """Prefix of every cache key this run writes to the shared Redis."""
    return f"test-{RUN_ID}"


def celery_queue() -> str:
    """The Celery queue of this run: its workers consume only what this run enqueued."""
    return f"test-{RUN_ID}"


def redis_delete_prefixed(url: str, prefix: str) -> int:
    """Delete this run's keys (those starting with ``prefix``) from the Redis at ``url``; never the others'."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    return client.delete(*keys) if keys else 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def current_database_url() -> str:
    """The URL of the PostgreSQL database this process's tests use now, for a child process (a worker)."""
    from django.db import connection

    db = connection.settings_dict
    credentials = urllib.parse.quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + urllib.parse.quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
