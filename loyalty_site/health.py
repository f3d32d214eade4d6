"""Health endpoints for a load balancer and for monitoring.

``/healthz`` says the process answers and touches nothing else, so a load
balancer may ask it every second. ``/readyz`` says the process can serve: the
database answers and has every migration applied, the cache stores and returns
a value, and the Celery broker (when one is configured) accepts a connection.

Each backend is checked in a thread of its own against one deadline
(``CHECK_TIMEOUT_SECONDS``): a database or Redis that hangs makes the probe
answer 503 in about two seconds, instead of holding a gunicorn worker until it
is killed. A check still stuck from an earlier probe is not started again, so a
hung backend costs one thread, not one per probe.

The body names each component, says whether it is ok and how long it took, and
nothing else: a probe URL is public, so no address, URL or exception text goes
in it. What went wrong is logged instead, as one warning naming the failing
components (again at most once a minute while the same ones fail); a healthy
probe logs nothing. Both are plain Django views, so no DRF throttle counts them.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
# While the same components keep failing, a probe every few seconds repeats the warning at most this often.
FAILURE_LOG_INTERVAL_SECONDS = 60.0


class NotReady(Exception):
    """A check's failure whose ``reason`` is a fixed phrase of ours, safe to show in the body."""

    def __init__(self, reason: str, **shown):
        super().__init__(reason)
        self.reason = reason
        self.shown = shown


# --- The checks: each returns the public fields of a success, or raises ----------------------------


def database_check() -> dict:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def migrations_check() -> dict:
    """Every migration on disk is applied: the code this process runs matches the schema."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise NotReady("unapplied migrations", unapplied=len(plan))
    return {}


def cache_check() -> dict:
    cache = caches["default"]
    key, value = f"readyz:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise NotReady("cache did not return the value")
    cache.delete(key)
    return {}


def broker_check() -> dict:
    if not settings.CELERY_BROKER_URL:
        return {"detail": "not configured"}  # tasks run in-process: there is nothing to reach
    from loyalty_site.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0)
    return {}


# Checks in one group run one after the other in one thread (migrations need the database);
# groups run side by side.
CHECK_GROUPS: dict[str, list[tuple[str, Callable[[], dict]]]] = {
    "database": [("database", database_check), ("migrations", migrations_check)],
    "cache": [("cache", cache_check)],
    "broker": [("broker", broker_check)],
}


# --- Running them -------------------------------------------------------------------------------


@dataclass
class Readiness:
    checks: dict[str, dict] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # for the log only

    @property
    def is_ready(self) -> bool:
        return all(result["ok"] for result in self.checks.values())


_in_flight: dict[str, threading.Thread] = {}
_in_flight_lock = threading.Lock()


def _milliseconds_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _run_group(checks, results: dict, problems: dict) -> None:
    try:
        for position, (name, check) in enumerate(checks):
            started = time.perf_counter()
            try:
                shown = check()
                results[name] = {"ok": True, "ms": _milliseconds_since(started), **shown}
            except NotReady as failure:
                results[name] = {
                    "ok": False,
                    "ms": _milliseconds_since(started),
                    "error": failure.reason,
                    **failure.shown,
                }
                problems[name] = failure.reason
            except Exception as error:  # noqa: BLE001 (whatever a backend raises is "not ready"; its text goes to the log)
                results[name] = {"ok": False, "ms": _milliseconds_since(started), "error": "unavailable"}
                problems[name] = f"{type(error).__name__}: {error}"
            if not results[name]["ok"]:
                for later, _check in checks[position + 1 :]:
                    results[later] = {"ok": False, "error": f"{name} unavailable"}
                    problems[later] = f"not checked: {name} failed"
                return
    finally:
        # This thread's own database connection; the request's is left alone.
        connections.close_all()


def readiness_check(timeout_seconds: float | None = None) -> Readiness:
    timeout_seconds = CHECK_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
    deadline = time.monotonic() + timeout_seconds
    results: dict[str, dict] = {}
    problems: dict[str, str] = {}
    threads = []
    with _in_flight_lock:
        for group, checks in CHECK_GROUPS.items():
            previous = _in_flight.get(group)
            if previous is not None and previous.is_alive():
                for name, _check in checks:
                    problems[name] = "the previous check has not returned yet"
                continue
            thread = threading.Thread(
                target=_run_group, args=(checks, results, problems), name=f"readyz-{group}", daemon=True
            )
            _in_flight[group] = thread
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    # Copies, in a fixed order: a thread that answers after the deadline must not change what was decided.
    answered, problems = dict(results), dict(problems)
    readiness = Readiness()
    for checks in CHECK_GROUPS.values():
        for name, _check in checks:
            if name in answered:
                readiness.checks[name] = answered[name]
            else:
                readiness.checks[name] = {"ok": False, "ms": round(timeout_seconds * 1000, 1), "error": "timeout"}
                problems.setdefault(name, f"no answer within {timeout_seconds:g} s")
    readiness.problems = problems
    return readiness


_last_logged_failure: dict = {"components": None, "at": 0.0}
_log_lock = threading.Lock()


def _log_not_ready(readiness: Readiness) -> None:
    failing = sorted(name for name, result in readiness.checks.items() if not result["ok"])
    now = time.monotonic()
    with _log_lock:
        same_as_last = _last_logged_failure["components"] == failing
        if same_as_last and now - _last_logged_failure["at"] < FAILURE_LOG_INTERVAL_SECONDS:
            return
        _last_logged_failure.update(components=failing, at=now)
    logger.warning(
        "health.not_ready",
        extra={"failing": failing, "problems": {name: readiness.problems.get(name, "") for name in failing}},
    )


def _forget_logged_failure() -> None:
    with _log_lock:
        _last_logged_failure.update(components=None, at=0.0)


# --- Views ----------------------------------------------------------------------------------------


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    readiness = readiness_check()
    body = {"status": "ok" if readiness.is_ready else "fail", "checks": readiness.checks}
    if readiness.is_ready:
        _forget_logged_failure()  # the next failure is news again
        return JsonResponse(body)
    _log_not_ready(readiness)
    response = JsonResponse(body, status=503)
    # django.request would log every 503 as an error with the request; our warning above says what failed.
    response._has_been_logged = True
    return response
