"""/healthz and /readyz: what a load balancer and monitoring see, and what they never see.

Backends that are down are real: a port nothing listens on, a server that
accepts and never answers. Only the migration state is faked (an unapplied
migration cannot be made without changing the code on disk).
"""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor

from loyalty_site import health
from tests.support.celery import celery_broker
from tests.support.resources import free_port, redis_url_for_tests

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = {"database", "migrations", "cache", "broker"}


@pytest.fixture(autouse=True)
def _fresh_health_state():
    health._forget_logged_failure()
    yield
    health._forget_logged_failure()


def _redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers: a hung Redis."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in accepted:  # the hung check's read ends, and its thread with it
        connection.close()
    _wait_for_idle_checks()  # so that the next test's probe starts every check afresh


def _wait_for_idle_checks(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while any(thread.is_alive() for thread in health._in_flight.values()):
        assert time.monotonic() < deadline, "a readiness check is still running"
        time.sleep(0.05)


# --- /healthz -------------------------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_head_and_refuses_post(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_probes_are_not_throttled(client, db):
    # THROTTLE_PUBLIC is 120/min per address: a load balancer probing faster is never refused.
    statuses = {client.get("/healthz").status_code for _ in range(130)}
    statuses |= {client.get("/readyz").status_code for _ in range(3)}
    assert statuses == {200}


def test_probes_over_plain_http_are_not_redirected(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/").status_code == 301  # the rest of the site still is


# --- /readyz: ready -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_is_ok_when_everything_answers(client, caplog):
    caplog.set_level(logging.DEBUG)

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == COMPONENTS
    assert all(check["ok"] for check in body["checks"].values())
    assert all(isinstance(body["checks"][name]["ms"], float) for name in COMPONENTS)
    assert body["checks"]["broker"]["detail"] == "not configured"  # the test settings have no broker
    assert "no-cache" in response["Cache-Control"]
    assert [record for record in caplog.records if record.levelno >= logging.INFO] == []  # a healthy probe logs nothing


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_reaches_a_configured_broker(client, settings):
    url = redis_url_for_tests()
    settings.CACHES = _redis_cache(url)
    settings.CELERY_BROKER_URL = url
    with celery_broker(url):
        response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"] == {"ok": True, "ms": response.json()["checks"]["broker"]["ms"]}
    assert response.json()["checks"]["cache"]["ok"] is True


@pytest.mark.django_db
def test_the_database_check_costs_three_queries(django_assert_num_queries):
    # SELECT 1, then the migration recorder: does its table exist, which rows does it hold.
    with django_assert_num_queries(3):
        health.database_check()
        health.migrations_check()


# --- /readyz: not ready ---------------------------------------------------------------------------


def _assert_no_internals(response, *texts: str) -> None:
    body = response.content.decode()
    for text in ("127.0.0.1", "localhost", "redis://", "postgres", "Error", "Traceback", *texts):
        assert text not in body, f"{text!r} leaked into {body}"


@pytest.mark.django_db
def test_database_down_is_a_503_naming_the_component_only(client, monkeypatch, caplog):
    def refuse(self):
        raise ConnectionRefusedError("connection to server at 10.1.2.3, port 5432 failed")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert response.json()["status"] == "fail"
    assert checks["database"]["ok"] is False and checks["database"]["error"] == "unavailable"
    assert checks["migrations"] == {"ok": False, "error": "database unavailable"}
    assert checks["cache"]["ok"] is True and checks["broker"]["ok"] is True
    _assert_no_internals(response, "10.1.2.3", "5432", "refused")
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "loyalty_site.health"
    assert warnings[0].failing == ["database", "migrations"]
    assert "10.1.2.3" in warnings[0].problems["database"]  # the operator's log says what happened


@pytest.mark.django_db
def test_cache_on_a_closed_port_is_a_503_within_the_timeout(client, settings):
    port = free_port()
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{port}/0")

    started = time.monotonic()
    response = client.get("/readyz")

    assert time.monotonic() - started < health.CHECK_TIMEOUT_SECONDS + 1
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["ok"] is False and checks["cache"]["error"] == "unavailable"
    assert checks["database"]["ok"] is True and checks["migrations"]["ok"] is True
    _assert_no_internals(response, str(port))


@pytest.mark.django_db
def test_a_hung_cache_answers_503_at_the_deadline_and_is_not_asked_again_meanwhile(
    client, settings, monkeypatch, silent_server
):
    # A check of an earlier test may still hang on its own silent server: this test starts with none in flight.
    monkeypatch.setattr(health, "_in_flight", {})
    # Long enough for the database checks on a busy machine; the cache's would hang for ever.
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 2.0)
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{silent_server}/0")

    started = time.monotonic()
    first = client.get("/readyz")
    elapsed = time.monotonic() - started
    hanging = health._in_flight["cache"]
    second = client.get("/readyz")  # the first check is still waiting on the silent server

    assert elapsed >= 1.9  # it waited for the deadline, and not for ever (a bound the test itself sets)
    assert first.status_code == second.status_code == 503
    assert first.json()["checks"]["cache"] == {"ok": False, "ms": 2000.0, "error": "timeout"}
    assert second.json()["checks"]["cache"]["error"] == "timeout"
    assert first.json()["checks"]["database"]["ok"] is True
    assert hanging.is_alive() and health._in_flight["cache"] is hanging  # not asked again meanwhile


@pytest.mark.django_db
def test_a_broker_on_a_closed_port_is_a_503(client, settings):
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CELERY_BROKER_URL = url
    with celery_broker(url):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response.json()["checks"]["broker"]["error"] == "unavailable"
    _assert_no_internals(response, url)


@pytest.mark.django_db
def test_an_unapplied_migration_is_a_503(client, monkeypatch):
    real_plan = MigrationExecutor.migration_plan

    def plan_with_one_more(self, targets, clean_start=False):
        return [*real_plan(self, targets, clean_start), (object(), False)]

    monkeypatch.setattr(MigrationExecutor, "migration_plan", plan_with_one_more)

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["migrations"]["ok"] is False
    assert checks["migrations"]["error"] == "unapplied migrations" and checks["migrations"]["unapplied"] == 1
    assert checks["database"]["ok"] is True


# --- Logging --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_probe_logs_one_warning_and_repeats_it_only_when_something_changes(
    client, settings, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{free_port()}/0")

    for _ in range(3):
        assert client.get("/readyz").status_code == 503

    logged = [record for record in caplog.records if record.levelno >= logging.INFO]
    assert [(record.name, record.levelname, record.getMessage()) for record in logged] == [
        ("loyalty_site.health", "WARNING", "health.not_ready")
    ]  # one line, and no "Service Unavailable" error from django.request
    assert logged[0].failing == ["cache"]
    assert "Connection" in logged[0].problems["cache"]

    monkeypatch.setattr(health, "FAILURE_LOG_INTERVAL_SECONDS", 0)  # a minute later
    client.get("/readyz")
    assert len([record for record in caplog.records if record.name == "loyalty_site.health"]) == 2


@pytest.mark.django_db
def test_after_a_recovery_the_next_failure_is_logged_again(client, settings, caplog):
    closed_port_cache = _redis_cache(f"redis://127.0.0.1:{free_port()}/0")
    working_cache = settings.CACHES
    settings.CACHES = closed_port_cache
    client.get("/readyz")
    settings.CACHES = working_cache
    assert client.get("/readyz").status_code == 200
    settings.CACHES = closed_port_cache
    client.get("/readyz")
    assert len([record for record in caplog.records if record.name == "loyalty_site.health"]) == 2


# --- The real thing: every backend down, in a process of its own ------------------------------------


PROBE = """
import json, time
import django
django.setup()
from django.test import Client
client = Client()
client.get("/healthz")  # the first request imports the URLs and middleware: not part of the probe's time
started = time.monotonic()
response = client.get("/readyz")
print(json.dumps({"status": response.status_code, "seconds": time.monotonic() - started,
                  "body": response.content.decode()}))
"""


def test_every_backend_on_a_closed_port(tmp_path):
    closed = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://loyalty:secret-password@127.0.0.1:{closed}/loyalty",
        "CACHE_URL": f"redis://127.0.0.1:{closed}/1",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed}/0",
        "LOG_LEVEL": "INFO",
    }
    process = subprocess.run(
        [sys.executable, "-c", PROBE], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout.strip().splitlines()[-1])

    assert result["status"] == 503
    assert result["seconds"] < health.CHECK_TIMEOUT_SECONDS + 1
    body = json.loads(result["body"])
    assert (
        body["status"] == "fail" and {name for name, check in body["checks"].items() if not check["ok"]} == COMPONENTS
    )
    for text in ("127.0.0.1", str(closed), "secret-password", "loyalty:", "refused", "redis"):
        assert text not in result["body"]
    log_lines = [json.loads(line) for line in process.stderr.splitlines() if line.startswith("{")]
    assert [(line["level"], line["event"]) for line in log_lines] == [("WARNING", "health.not_ready")]
    assert log_lines[0]["failing"] == sorted(COMPONENTS)
    assert "secret-password" not in process.stderr
