"""Fixtures shared by the reliability tests (ledger invariant, faults).

- ``loopback_api``: the project's WSGI application served on 127.0.0.1 by a
  single-threaded server, the way a gunicorn sync worker serves it: one
  thread, its database connection kept between requests (``CONN_MAX_AGE``),
  Django's ``request_started``/``request_finished`` handlers
  (``close_old_connections``) live. Django's test client unhooks those
  handlers, so it cannot show how the app recovers from a dropped connection.
- ``Stall``: holds a stand-in's request handler (the local Google Wallet API,
  the local APNs) on a ``threading.Event``. ``reached`` says a request is
  being held; ``release()`` lets it and every later one through. Tests prove
  "the till did not wait" by the order of events, not by timing.
- ``celery_worker``: a real Celery worker process on the Redis of
  ``TEST_REDIS_URL`` and this test's PostgreSQL database, consuming only this
  run's queue (``tests/support/resources.py``): nothing is flushed.

The stand-ins are those of the wallet tests (``tests/wallet/google/fake_google.py``,
``FakeApns`` in ``tests/wallet/apple/conftest.py``): their fixtures are
imported here, not copied.
"""

import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from rest_framework.test import APIClient

from staff.services.tokens import token_issue
from tests import factories
from tests.factories import PASSWORD
from tests.support.celery import celery_broker, worker_start, worker_stop
from tests.support.resources import current_database_url, redis_url_for_tests
from tests.wallet.apple.conftest import _apns_server, apns_server, apple_settings, dev_certificates  # noqa: F401
from tests.wallet.google.conftest import (  # noqa: F401
    fake_google,
    google_wallet,
    service_account_file,
    service_account_key,
)
from wallet.apple.services import apple_pass_get_or_create, device_register
from wallet.google.services import google_save_url

STALL_LIMIT_SECONDS = 60  # a held handler gives up by itself: a failing test must not hang the run
WAIT_LIMIT_SECONDS = 60  # how long a test waits for an event (a worker's delivery) before failing


def wait_until(
    condition, *, what: str, process: subprocess.Popen | None = None, log: Path | None = None, limit: float = 0
):
    """Poll ``condition()`` until it is true; fail (with the worker's log) if it never is or the worker died.

    ``limit``: seconds to wait, when longer than ``WAIT_LIMIT_SECONDS`` (a thousand cards' delivery).
    """
    deadline = time.monotonic() + max(limit, WAIT_LIMIT_SECONDS)
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) before {what}:\n{_tail(log)}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}" + (f"\n{_tail(log)}" if log else ""))


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-4000:] if log and log.exists() else ""


# --- The scanner app's side: a store token, the test client, a real loopback server ---------------
@pytest.fixture
def fast_passwords(settings):
    """Tokens are issued through the real login, by the hundred; the hasher's cost is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def till_token(store, program, fast_passwords) -> str:
    """A staff member's scanner-app token for ``store``, issued by the token service."""
    user = factories.make_user("staff", store.merchant, stores=[store])
    return token_issue(username=user.username, password=PASSWORD, store_code=store.code).key


@pytest.fixture
def till_client(till_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {till_token}")
    return client


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class LoopbackApi:
    """The WSGI application on a loopback port, served by one thread; records its backend pid per request."""

    def __init__(self):
        self.backend_pids: list[int | None] = []
        handler = WSGIHandler()

        def observed(environ, start_response):
            response = handler(environ, start_response)
            # Before the server closes the response (request_finished): the connection that served it.
            self.backend_pids.append(_backend_pid())
            return response

        self._server: WSGIServer = make_server("127.0.0.1", 0, observed, handler_class=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._serve, name="loopback-api", daemon=True)
        self._thread.start()

    def _serve(self):
        try:
            self._server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's connection, so the test database can be flushed and dropped

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


def _backend_pid() -> int | None:
    if connection.vendor != "postgresql" or connection.connection is None:
        return None
    return connection.connection.info.backend_pid


@pytest.fixture
def loopback_api(transactional_db):
    api = LoopbackApi()
    yield api
    api.stop()


# --- Stalled wallet services ----------------------------------------------------------------------
class Stall:
    """A switch that holds a stand-in's handler: ``reached`` is set once a request is held."""

    def __init__(self):
        self.reached = threading.Event()
        self.released = threading.Event()

    def hold(self):
        self.reached.set()
        self.released.wait(timeout=STALL_LIMIT_SECONDS)

    def release(self):
        self.released.set()


@pytest.fixture
def google_stall(google_wallet, monkeypatch):
    """Every Wallet REST request reaching the local Google is held (recorded first) until released."""
    stall = Stall()
    answer = google_wallet._scripted_for  # called by the handler for each REST request, after recording it

    def held(method, path):
        stall.hold()
        return answer(method, path)

    monkeypatch.setattr(google_wallet, "_scripted_for", held)
    yield stall
    stall.release()


@pytest.fixture
def apns_stall(apns_server, monkeypatch):
    """Every push reaching the local APNs is held until released.

    The hold blocks the server's event loop, as a stalled APNs would: no
    answer, not even to the next request or a new connection.
    """
    stall = Stall()
    answer = apns_server._status_for  # called by the ASGI app for each push, before recording it

    def held(token):
        stall.hold()
        return answer(token)

    monkeypatch.setattr(apns_server, "_status_for", held)
    yield stall
    stall.release()


@pytest.fixture
def google_saved_card(google_wallet, card):
    """The customer added the card to Google Wallet (class and object inserted); the request log emptied."""
    google_save_url(card=card)
    google_wallet.requests.clear()
    return card


@pytest.fixture
def apple_registered_card(apple_settings, card):
    """The card's pass is on one iPhone registered for pushes."""
    device_register(
        apple_pass=apple_pass_get_or_create(card=card), device_library_identifier="reliability-phone",
        push_token="reliability-push-token",
    )  # fmt: skip
    return card


# --- A real broker and worker -----------------------------------------------------------------------
def worker_env_for_google(settings) -> dict:
    """The Google Wallet settings of this test (the local stand-in), for a worker process."""
    return {
        "SITE_URL": settings.SITE_URL,
        "LOYALTY_GOOGLE_ISSUER_ID": settings.LOYALTY_GOOGLE_ISSUER_ID,
        "LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON": settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON,
        "LOYALTY_GOOGLE_API_BASE": settings.LOYALTY_GOOGLE_API_BASE,
        "LOYALTY_GOOGLE_ORIGINS": ",".join(settings.LOYALTY_GOOGLE_ORIGINS),
        "LOYALTY_GOOGLE_ID_PREFIX": settings.LOYALTY_GOOGLE_ID_PREFIX,
        "LOYALTY_GOOGLE_TIMEOUT_SECONDS": "30",  # longer than the stall: the held call is answered, not retried
    }


def worker_env_for_apple(settings) -> dict:
    """The Apple Wallet settings of this test (the local APNs), for a worker process."""
    names = ("PASS_TYPE_ID", "TEAM_ID", "SIGNER_CERT_PATH", "SIGNER_KEY_PATH", "SIGNER_KEY_PASSWORD",
             "WWDR_CERT_PATH", "APNS_HOST", "APNS_PORT", "APNS_AUTH", "APNS_CA_PATH")  # fmt: skip
    env = {f"LOYALTY_APPLE_{name}": str(getattr(settings, f"LOYALTY_APPLE_{name}")) for name in names}
    return {**env, "SITE_URL": settings.SITE_URL, "LOYALTY_APPLE_APNS_TIMEOUT_SECONDS": "30"}


class WorkerProcess:
    def __init__(self, process: subprocess.Popen, log: Path):
        self.process = process
        self.log = log

    def wait_until(self, condition, *, what: str, limit: float = 0):
        wait_until(condition, what=what, process=self.process, log=self.log, limit=limit)


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """``start(env)``: a Celery worker process on ``TEST_REDIS_URL`` with ``env`` added; this process enqueues there too.

    Worker and test use this run's own queue, so no task of another run (or
    left by an earlier one) reaches this test's cards. Stopped (and this
    process's Celery restored) at teardown.
    """
    broker = redis_url_for_tests()
    started: list[WorkerProcess] = []
    stack = ExitStack()

    def start(extra_env: dict) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        env = {
            "DATABASE_URL": current_database_url(),
            "DEBUG": "true",
            "LOG_LEVEL": "WARNING",
            "LOYALTY_APPLE_DEV_CERTS": "false",
            **extra_env,
        }
        with log.open("wb") as output:
            process = worker_start(broker=broker, env=env, stdout=output)
        started.append(WorkerProcess(process, log))
        stack.enter_context(celery_broker(broker))
        return started[-1]

    yield start
    for worker in started:
        worker_stop(worker.process)
    stack.close()
