"""Faults: the database drops a connection, a wallet service stalls, the broker is down.

The promise is that a till operation either counts once or not at all (never
half), that a scanner app is told to retry rather than shown a bug, and that
the till never waits for Google or Apple: their updates follow later, by the
worker or by the hourly ``loyalty.sync_wallet_passes``.

"Did not wait" is proven by the order of events: the local Google or APNs
holds its handler on an event (``Stall``) that the test releases only after
the till's answer arrived. Already covered elsewhere, not repeated here:
a stamp with the broker down reaching Google through the hourly job
(``tests/wallet/google/test_broker_down.py``), Google 5xx and timeouts on the
service path (``tests/wallet/google/test_updates.py``), APNs 5xx and an
unreachable APNs (``tests/wallet/apple/test_apns.py``), a stamp reaching
Google through Redis and a worker (``tests/test_celery_worker.py``).
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from django.db import connection, transaction

from loyalty.models import AdminAuditLog, LoyaltyCard, LoyaltyTransaction, TransactionType
from loyalty.tasks import sync_wallet_passes
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards, card_state, ledger_size
from tests.reliability.conftest import worker_env_for_apple, worker_env_for_google
from tests.support.celery import celery_broker
from tests.wallet.google.fake_google import ISSUER_ID
from wallet.models import ApplePass

STAMP = "/api/v1/store/loyalty/stamp"
EARN = "/api/v1/store/loyalty/points/earn"
PUSH_PATH = "/3/device/reliability-push-token"


def _json_error(response: httpx.Response) -> dict:
    """The one error shape of the API, read from a real HTTP response."""
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


# --- The database drops the connection -------------------------------------------------------------
@contextmanager
def card_row_locked(card_id: int):
    """Another session holds the card's row lock (as a long till operation would) until the block ends."""
    locked, release = threading.Event(), threading.Event()
    failures = []

    def hold():
        try:
            with transaction.atomic():
                LoyaltyCard.objects.select_for_update().get(pk=card_id)
                locked.set()
                release.wait(timeout=60)
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=hold, name="row-lock-holder")
    holder.start()
    assert locked.wait(timeout=10), failures
    try:
        yield
    finally:
        release.set()
        holder.join(timeout=10)
    assert not failures, failures


def backend_waiting_on_a_lock() -> tuple[int, str]:
    """The pid and query of the (one) session of this database waiting for a lock inside a transaction."""
    deadline = time.monotonic() + 15
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid, query FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock' AND xact_start IS NOT NULL"
                " AND pid <> pg_backend_pid()"
            )
            rows = cursor.fetchall()
            if rows:
                assert len(rows) == 1, rows
                return rows[0]
            time.sleep(0.02)
    pytest.fail("no session ever waited for the card's row lock")


def terminate_backend(pid: int) -> None:
    """What an administrator, a failover or a crashed PostgreSQL backend does to a session."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() == (0,):
                return
            time.sleep(0.02)
    pytest.fail(f"backend {pid} survived pg_terminate_backend")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stamp_whose_connection_dies_mid_transaction_answers_503_writes_nothing_and_a_retry_counts_once(
    loopback_api, till_token, card, caplog
):
    # given: the card's row is locked elsewhere, so the stamp will wait inside its transaction
    before, rows_before, audit_before = card_state(card), ledger_size(), AdminAuditLog.objects.count()
    headers = {"Authorization": f"Token {till_token}"}
    with httpx.Client(base_url=loopback_api.url, headers=headers, timeout=30) as scanner:
        with ThreadPoolExecutor(max_workers=1) as pool, card_row_locked(card.pk):
            pending = pool.submit(scanner.post, STAMP, json={"card_id": card.pk})
            pid, query = backend_waiting_on_a_lock()
            # the stamp's card lock (loyalty.lock_objects.card_lock_sql): SELECT ... FOR UPDATE of the card
            assert '"loyalty_loyaltycard"' in query and "FOR UPDATE" in query, query

            # when: its database session is killed
            terminate_backend(pid)
            response = pending.result(timeout=30)

            # then: a clean JSON 503 that says "retry", and nothing half-written
            assert response.status_code == 503, response.text
            error = _json_error(response)
            assert error["code"] == "SERVICE_UNAVAILABLE"
            assert response.headers["Retry-After"] == str(error["details"]["retry_after_seconds"])
            assert card_state(card) == before
            assert ledger_size() == rows_before
            assert AdminAuditLog.objects.count() == audit_before

        # and: the scanner's retry, on the same server thread, gets a new connection and counts once
        retry = scanner.post(STAMP, json={"card_id": card.pk})

    assert retry.status_code == 201, retry.text
    assert loopback_api.backend_pids[-1] not in (None, pid)
    (stamp,) = LoyaltyTransaction.objects.filter(card=card).exclude(type=TransactionType.CARD_ENROLLED)
    assert (stamp.pk, stamp.type, stamp.stamps_delta) == (retry.json()["transaction_id"], "STAMP_EARNED", 1)
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1
    assert_ledger_matches_cards()
    # a warning that says what happened, not an error with a traceback
    warnings = [record for record in caplog.records if record.getMessage() == "api.database_unavailable"]
    assert [(record.levelno, record.error) for record in warnings] == [(logging.WARNING, "OperationalError")]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stamp_with_an_idempotency_key_whose_connection_dies_frees_the_key_for_the_retry(
    loopback_api, till_token, card
):
    """The 503 broke the request's connection: freeing the key must not depend on it."""
    headers = {"Authorization": f"Token {till_token}", "Idempotency-Key": "till-3-0042"}
    with httpx.Client(base_url=loopback_api.url, headers=headers, timeout=30) as scanner:
        with ThreadPoolExecutor(max_workers=1) as pool, card_row_locked(card.pk):
            pending = pool.submit(scanner.post, STAMP, json={"card_id": card.pk})
            pid, _query = backend_waiting_on_a_lock()
            terminate_backend(pid)
            response = pending.result(timeout=30)
        assert response.status_code == 503, response.text

        # the scanner's retry, at once and with the same key, runs (it is no replay of the 503) and counts once
        retry = scanner.post(STAMP, json={"card_id": card.pk})
        again = scanner.post(STAMP, json={"card_id": card.pk})

    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert (again.status_code, again.content, again.headers["idempotent-replayed"]) == (201, retry.content, "true")
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1
    assert_ledger_matches_cards()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_between_requests_is_replaced_before_the_next_one(loopback_api, till_token, card):
    """Production keeps connections (CONN_MAX_AGE) and checks them first (CONN_HEALTH_CHECKS)."""
    assert connection.settings_dict["CONN_MAX_AGE"] > 0 and connection.settings_dict["CONN_HEALTH_CHECKS"]
    headers = {"Authorization": f"Token {till_token}"}
    with httpx.Client(base_url=loopback_api.url, headers=headers, timeout=30) as scanner:
        assert scanner.post(STAMP, json={"card_id": card.pk}).status_code == 201
        kept = loopback_api.backend_pids[-1]
        terminate_backend(kept)  # idle in the pool: a PostgreSQL restart, a failover, an idle timeout

        earn = scanner.post(EARN, json={"card_id": card.pk, "purchase_amount_cents": 1250, "order_reference": "R-1"})

    assert earn.status_code == 201, earn.text
    assert loopback_api.backend_pids[-1] not in (None, kept)
    assert LoyaltyCard.objects.get(pk=card.pk).points_balance == 125
    assert_ledger_matches_cards()


# --- A wallet service stalls, with a real broker and worker ----------------------------------------
def _google_balance(google_wallet, card) -> str:
    return google_wallet.resources[f"loyaltyObject/{ISSUER_ID}.loyalty-card-{card.pk}"]["loyaltyPoints"]["balance"][
        "string"
    ]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_a_stamp_never_waits_for_a_stalled_google_and_the_worker_delivers_it_afterwards(
    google_saved_card, google_stall, google_wallet, celery_worker, till_client, settings
):
    card = google_saved_card
    worker = celery_worker(worker_env_for_google(settings))

    response = till_client.post(STAMP, {"card_id": card.pk}, format="json")

    # the till has its answer while Google has answered nothing
    assert response.status_code == 201, response.json()
    assert not google_stall.released.is_set()
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is False  # queued, not failed
    worker.wait_until(google_stall.reached.is_set, what="the worker's call to reach the stalled Google")
    assert _google_balance(google_wallet, card) == "0/10"

    # when Google answers again, the worker's update lands
    google_stall.release()
    worker.wait_until(lambda: _google_balance(google_wallet, card) == "1/10", what="the stamp to reach Google")
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is False


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_a_stamp_never_waits_for_a_stalled_apns_and_the_worker_pushes_afterwards(
    apple_registered_card, apns_stall, apns_server, celery_worker, till_client, settings
):
    card = apple_registered_card
    tag_before = ApplePass.objects.get(card=card).change_tag
    worker = celery_worker(worker_env_for_apple(settings))

    response = till_client.post(STAMP, {"card_id": card.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert not apns_stall.released.is_set()
    assert ApplePass.objects.get(card=card).change_tag > tag_before  # the pass changed; devices will ask for it
    worker.wait_until(apns_stall.reached.is_set, what="the worker's push to reach the stalled APNs")
    assert apns_server.requests == []  # held: not answered yet

    apns_stall.release()
    worker.wait_until(
        lambda: [(r["path"], r["status"]) for r in apns_server.requests] == [(PUSH_PATH, 200)],
        what="the push to be delivered",
    )
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is False


# --- A wallet service stalls, without a broker (the embedded run: tasks run in the request) ---------
@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_stalled_google_costs_the_till_one_timeout_and_the_hourly_sync_delivers(
    google_saved_card, google_stall, google_wallet, till_client, settings
):
    card = google_saved_card
    settings.LOYALTY_GOOGLE_TIMEOUT_SECONDS = 0.5

    response = till_client.post(STAMP, {"card_id": card.pk}, format="json")

    # the update ran in the request and reached Google, which never answered: the till got its answer anyway
    assert response.status_code == 201, response.json()
    assert google_stall.reached.is_set() and not google_stall.released.is_set()
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is True

    # Google answers again; the hourly job (in a worker, with the usual timeout) sends the stamp
    google_stall.release()
    settings.LOYALTY_GOOGLE_TIMEOUT_SECONDS = 5.0
    assert sync_wallet_passes.apply().get() == {"synced": 1, "failed": 0}
    assert _google_balance(google_wallet, card) == "1/10"
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is False


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_stalled_apns_costs_the_till_bounded_time_and_the_hourly_sync_pushes(
    apple_registered_card, apns_stall, apns_server, till_client, settings
):
    card = apple_registered_card
    settings.LOYALTY_APPLE_APNS_TIMEOUT_SECONDS = 0.5

    response = till_client.post(STAMP, {"card_id": card.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert apns_stall.reached.is_set() and not apns_stall.released.is_set()
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is True

    # APNs answers again; the hourly job (in a worker, with the usual timeout) pushes the change
    apns_stall.release()
    settings.LOYALTY_APPLE_APNS_TIMEOUT_SECONDS = 5.0
    assert sync_wallet_passes.apply().get() == {"synced": 1, "failed": 0}
    assert (apns_server.requests[-1]["path"], apns_server.requests[-1]["status"]) == (PUSH_PATH, 200)
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is False


# --- The broker is down ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_points_earn_counts_and_both_wallets_catch_up_hourly(
    google_saved_card, apple_registered_card, google_wallet, apns_server, till_client
):
    card = google_saved_card
    # the discard port: nothing listens there, so every attempt to enqueue is refused
    with celery_broker("redis://127.0.0.1:9/0", broker_connection_timeout=1):
        response = till_client.post(
            EARN, {"card_id": card.pk, "purchase_amount_cents": 1250, "order_reference": "POS-7"}, format="json"
        )

        assert response.status_code == 201, response.json()
        assert response.json()["points_balance"] == 125
        assert google_wallet.requests == [] and apns_server.requests == []
        assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is True

    # the broker is back; the hourly job runs
    assert sync_wallet_passes.apply().get() == {"synced": 1, "failed": 0}
    object_path = f"loyaltyObject/{ISSUER_ID}.loyalty-card-{card.pk}"
    assert google_wallet.resources[object_path]["secondaryLoyaltyPoints"]["balance"] == {"int": 125}
    assert [(r["path"], r["status"]) for r in apns_server.requests] == [(PUSH_PATH, 200)]
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is False
