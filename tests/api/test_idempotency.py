"""``Idempotency-Key`` on the store API's writes: a retry answers what the first request got and counts once."""

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import DatabaseError, OperationalError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from loyalty.domain.cards import CardRef
from loyalty.exceptions import RequestInProgress
from loyalty.models import IdempotencyRecord, LoyaltyCard, LoyaltyTransaction
from loyalty.services.idempotency import idempotency_claim, idempotency_scope, request_fingerprint
from loyalty.services.points import points_adjust
from loyalty.services.stamps import stamp_add
from loyalty.tasks import prune_idempotency_keys
from staff.models import StorePinFailure
from tests import factories
from tests.api.conftest import client_for, error_of
from tests.api.idempotency_probe import answer_kind, send_together

BASE = "/api/v1/store/loyalty/"
ROOT = Path(__file__).resolve().parents[2]
State = IdempotencyRecord.State


def send(client, path, body, key):
    return client.post(BASE + path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def ledger_size() -> int:
    return LoyaltyTransaction.objects.count()


def card_state(card) -> tuple:
    card = LoyaltyCard.objects.get(pk=card.pk)
    return card.stamp_count, card.points_balance, card.stamps_redeemed, card.points_redeemed


@pytest.fixture
def open_program(merchant):
    """No cooldown and a high daily limit: without its key, every repeat would count again."""
    program = factories.make_program(merchant, cooldown_minutes=0, max_daily_stamps=50)
    factories.make_reward(program, "Croissant", 100)
    return program


@pytest.fixture
def till(open_program, store, owner_client):
    """An owner's store token (allowed every write) and an active card."""
    return owner_client, factories.make_card(store)


def _seed(card, open_program, store) -> None:
    owner = factories.owner_actor(store)
    for minute in range(10):
        stamp_add(actor=owner, card_ref=CardRef(card_id=card.pk), now=timezone.now() - timedelta(minutes=minute + 1))
    points_adjust(actor=owner, card_ref=CardRef(card_id=card.pk), points_delta=300, reason="seed")


def _operations(card, open_program):
    reward = open_program.rewards.get()
    return {
        "stamp": ("stamp", {"card_id": card.pk}),
        "stamp-redeem": ("stamp/redeem", {"card_id": card.pk}),
        "stamp-void": ("stamp/void", {"card_id": card.pk, "stamps_to_void": 1}),
        "points-earn": ("points/earn", {"card_id": card.pk, "purchase_amount_cents": 450}),
        "points-redeem": ("points/redeem", {"card_id": card.pk, "reward_id": reward.pk}),
        "points-void": ("points/void", {"card_id": card.pk, "points_to_void": 50}),
        "points-adjust": (f"cards/{card.pk}/points/adjust", {"points_delta": 50, "reason": "Goodwill"}),
        "enroll": ("cards/enroll", {"email": "walk-in@example.com", "full_name": "Walk In"}),
    }


OPERATIONS = [
    "stamp",
    "stamp-redeem",
    "stamp-void",
    "points-earn",
    "points-redeem",
    "points-void",
    "points-adjust",
    "enroll",
]


# --- Replays ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_retry_with_the_key_replays_the_first_answer_and_writes_nothing(till, open_program, store, operation):
    client, card = till
    _seed(card, open_program, store)
    path, body = _operations(card, open_program)[operation]
    rows_before = ledger_size()

    first = send(client, path, body, "till-7f3a-0001")
    after_first = card_state(card)
    retry = send(client, path, body, "till-7f3a-0001")

    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Content-Type"].startswith("application/json")
    assert ledger_size() == rows_before + 1
    assert card_state(card) == after_first
    record = IdempotencyRecord.objects.get(key="till-7f3a-0001")
    assert (record.state, record.status_code, record.merchant_id) == (State.DONE, 201, store.merchant_id)
    assert record.ledger_transaction_id == first.json()["transaction_id"]


@pytest.mark.django_db
def test_the_same_body_in_another_key_order_or_spacing_is_the_same_request(till):
    client, card = till
    first = send(client, "points/earn", {"card_id": card.pk, "purchase_amount_cents": 450}, "k-1")

    retry = client.post(
        BASE + "points/earn",
        f'{{ "purchase_amount_cents" : 450,\n  "card_id": {card.pk} }}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert (retry.status_code, retry.content, retry["Idempotent-Replayed"]) == (201, first.content, "true")
    assert LoyaltyCard.objects.get(pk=card.pk).points_balance == 45


@pytest.mark.django_db
def test_without_the_header_nothing_is_recorded_and_every_request_counts(till):
    client, card = till

    for _ in range(2):
        assert client.post(BASE + "stamp", {"card_id": card.pk}, format="json").status_code == 201

    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_refused_stamp_retried_answers_the_same_refusal_even_once_the_cooldown_is_over(merchant, store, staff_client):
    factories.make_program(merchant, cooldown_minutes=15)
    card = factories.make_card(store)
    assert staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json").status_code == 201

    refused = send(staff_client, "stamp", {"card_id": card.pk}, "stamp-2")
    LoyaltyCard.objects.filter(pk=card.pk).update(last_stamp_at=timezone.now() - timedelta(minutes=20))
    retry = send(staff_client, "stamp", {"card_id": card.pk}, "stamp-2")

    assert (refused.status_code, error_of(refused)["code"]) == (422, "STAMP_COOLDOWN")
    assert (retry.status_code, retry.content, retry["Idempotent-Replayed"]) == (422, refused.content, "true")
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1
    # a new key is a new operation: the cooldown is over, so it counts
    assert send(staff_client, "stamp", {"card_id": card.pk}, "stamp-3").status_code == 201


@pytest.mark.django_db
def test_a_wrong_pin_retried_is_the_same_refusal_and_costs_no_second_attempt(merchant, store, staff_client):
    factories.make_program(merchant, require_staff_pin=True)
    factories.make_pin(store, "4321")
    card = factories.make_card(store)
    body = {"card_id": card.pk, "staff_pin": "0000"}

    wrong = send(staff_client, "stamp", body, "pin-1")
    failures = StorePinFailure.objects.filter(store=store).count()
    retry = send(staff_client, "stamp", body, "pin-1")
    other_pin = send(staff_client, "stamp", {**body, "staff_pin": "4321"}, "pin-1")

    assert (wrong.status_code, error_of(wrong)["code"]) == (422, "STAFF_PIN_INVALID")
    assert (retry.status_code, retry.content) == (422, wrong.content)
    assert (other_pin.status_code, error_of(other_pin)["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert StorePinFailure.objects.filter(store=store).count() == failures == 1
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 0


@pytest.mark.django_db
def test_the_record_holds_no_pin_and_no_plain_hash_of_the_body(merchant, store, staff_client):
    factories.make_program(merchant, require_staff_pin=True)
    factories.make_pin(store, "4321")
    card = factories.make_card(store)
    body = {"card_id": card.pk, "staff_pin": "4321"}

    assert send(staff_client, "stamp", body, "pin-2").status_code == 201

    record = IdempotencyRecord.objects.get()
    plain = json.dumps(body, sort_keys=True, separators=(",", ":"))
    stored = " ".join(str(value) for value in record.__dict__.values())
    assert "4321" not in stored
    assert record.request_hash not in {
        hashlib.sha256(plain.encode()).hexdigest(),
        hashlib.sha256(f"POST {BASE}stamp\n{plain}".encode()).hexdigest(),
    }


# --- Conflicts and scope ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_409_and_writes_nothing(till):
    client, card = till
    send(client, "points/earn", {"card_id": card.pk, "purchase_amount_cents": 450}, "k-2")
    before, rows = card_state(card), ledger_size()

    response = send(client, "points/earn", {"card_id": card.pk, "purchase_amount_cents": 900}, "k-2")

    assert (response.status_code, error_of(response)["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert error_of(response)["message"] == "This Idempotency-Key was already used for a different request."
    assert "Idempotent-Replayed" not in response
    assert (card_state(card), ledger_size()) == (before, rows)


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_a_conflict(till):
    client, card = till
    assert send(client, "stamp", {"card_id": card.pk}, "k-3").status_code == 201
    before, rows = card_state(card), ledger_size()

    response = send(client, "points/earn", {"card_id": card.pk}, "k-3")
    adjusted = send(client, f"cards/{card.pk}/points/adjust", {"card_id": card.pk}, "k-3")

    assert (response.status_code, error_of(response)["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert (adjusted.status_code, error_of(adjusted)["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert (card_state(card), ledger_size()) == (before, rows)


@pytest.mark.django_db
def test_the_same_key_at_another_merchant_is_independent(till, other_store, other_program):
    client, card = till
    other_program.cooldown_minutes = 0
    other_program.save()
    other_card = factories.make_card(other_store)
    other_client = client_for(factories.make_user("staff", other_store.merchant, stores=[other_store]), other_store)

    mine = send(client, "stamp", {"card_id": card.pk}, "shared-key")
    theirs = send(other_client, "stamp", {"card_id": other_card.pk}, "shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert LoyaltyCard.objects.get(pk=other_card.pk).stamp_count == 1
    assert IdempotencyRecord.objects.filter(key="shared-key").count() == 2


@pytest.mark.django_db
def test_another_token_of_the_same_merchant_shares_the_key(till, store, open_program):
    client, card = till
    colleague = client_for(factories.make_user("staff", store.merchant, stores=[store]), store)

    first = send(client, "stamp", {"card_id": card.pk}, "k-4")
    retry = send(colleague, "stamp", {"card_id": card.pk}, "k-4")

    assert (retry.content, retry["Idempotent-Replayed"]) == (first.content, "true")
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "clé-1", "tab\there", "line\x7fdel", "\x00"],
    ids=["empty", "256", "accent", "tab", "del", "nul"],
)
def test_a_malformed_key_is_a_400_before_anything_runs(till, key):
    client, card = till

    response = send(client, "stamp", {"card_id": card.pk}, key)

    assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in error_of(response)["details"]
    assert card_state(card) == (0, 0, 0, 0)
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_key_of_255_printable_characters_is_accepted(till):
    client, card = till
    key = ("~ !aZ09" * 40)[:255]

    assert send(client, "stamp", {"card_id": card.pk}, key).status_code == 201
    assert IdempotencyRecord.objects.get().key == key


@pytest.mark.django_db
def test_order_reference_keeps_its_own_replay_under_new_keys(till):
    client, card = till
    body = {"card_id": card.pk, "purchase_amount_cents": 1250, "order_reference": "POS-9"}

    first = send(client, "points/earn", body, "earn-1")
    second = send(client, "points/earn", body, "earn-2")

    assert first.status_code == 201 and first.json()["replayed"] is False
    assert second.status_code == 200 and second.json()["replayed"] is True
    assert "Idempotent-Replayed" not in second
    assert second.json()["transaction_id"] == first.json()["transaction_id"]
    assert LoyaltyCard.objects.get(pk=card.pk).points_balance == 125


# --- In progress, failures, crashes --------------------------------------------------------------------------


def _claim_as_another_request(merchant, card, key, *, path="stamp", body=None, now=None):
    body = body if body is not None else {"card_id": card.pk}
    return idempotency_claim(
        merchant=merchant,
        key=key,
        endpoint=f"POST {BASE}{path}",
        request_hash=request_fingerprint(method="POST", path=BASE + path, body=body),
        now=now,
    )


@pytest.mark.django_db
def test_a_repeat_while_the_first_is_running_is_409_request_in_progress(till, merchant):
    client, card = till
    _claim_as_another_request(merchant, card, "k-5")

    response = send(client, "stamp", {"card_id": card.pk}, "k-5")

    assert (response.status_code, error_of(response)["code"]) == (409, "REQUEST_IN_PROGRESS")
    assert error_of(response)["details"] == {"retry_after_seconds": 1}
    assert card_state(card) == (0, 0, 0, 0)
    assert IdempotencyRecord.objects.get().state == State.IN_PROGRESS  # the running request's claim is untouched


@pytest.mark.django_db
def test_a_claim_left_by_a_dead_request_is_taken_over_after_two_minutes(till, merchant):
    client, card = till
    _claim_as_another_request(merchant, card, "k-6", now=timezone.now() - timedelta(minutes=2, seconds=5))

    response = send(client, "stamp", {"card_id": card.pk}, "k-6")

    assert response.status_code == 201
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1
    assert IdempotencyRecord.objects.get().state == State.DONE


@pytest.mark.django_db
def test_a_request_whose_claim_was_taken_over_rolls_its_operation_back(till, merchant, store):
    _client, card = till
    claim = _claim_as_another_request(merchant, card, "k-7", now=timezone.now() - timedelta(minutes=3))
    IdempotencyRecord.objects.filter(pk=claim.record_id).update(claimed_at=timezone.now())  # the takeover
    rows = ledger_size()

    with idempotency_scope(claim), pytest.raises(RequestInProgress):
        stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk))

    assert (card_state(card), ledger_size()) == ((0, 0, 0, 0), rows)
    assert IdempotencyRecord.objects.get().state == State.IN_PROGRESS


@pytest.mark.django_db
def test_a_database_fault_answers_503_and_frees_the_key_so_the_retry_runs(till, monkeypatch):
    client, card = till
    from loyalty.services import stamps

    real = stamps.card_lock_sql  # the till locks the card with one hand-written statement
    faults = iter([OperationalError("server closed the connection unexpectedly")])

    def dropped_once(**kwargs):
        fault = next(faults, None)
        if fault is not None:
            raise fault
        return real(**kwargs)

    monkeypatch.setattr(stamps, "card_lock_sql", dropped_once)

    failed = send(client, "stamp", {"card_id": card.pk}, "k-8")
    assert (failed.status_code, error_of(failed)["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert not IdempotencyRecord.objects.exists()

    retry = send(client, "stamp", {"card_id": card.pk}, "k-8")
    again = send(client, "stamp", {"card_id": card.pk}, "k-8")

    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert (again.content, again["Idempotent-Replayed"]) == (retry.content, "true")
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_that_dies_outside_a_transaction_still_frees_the_key(merchant, store, monkeypatch):
    """The program is read in autocommit: a connection killed there is still broken when the key is freed."""
    from django.db import connection

    from loyalty.services import stamps

    factories.make_program(merchant, cooldown_minutes=0)
    card = factories.make_card(store)
    client = client_for(factories.make_user("staff", merchant, stores=[store]), store)
    real = stamps.program_for_operation
    killed = []

    def read_after_the_server_dropped_us(**kwargs):
        if not killed:
            killed.append(connection.connection.info.backend_pid)
            with pytest.raises(Exception):  # noqa: B017 (psycopg's AdminShutdown, unwrapped on purpose)
                connection.connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(**kwargs)

    monkeypatch.setattr(stamps, "program_for_operation", read_after_the_server_dropped_us)

    failed = send(client, "stamp", {"card_id": card.pk}, "k-11")
    assert (failed.status_code, error_of(failed)["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert killed
    assert not IdempotencyRecord.objects.exists()  # freed over a new connection, not left "in progress"

    retry = send(client, "stamp", {"card_id": card.pk}, "k-11")

    assert retry.status_code == 201, retry.json()
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1


@pytest.mark.django_db
def test_an_operation_that_committed_but_whose_answer_was_lost_never_runs_again(till, monkeypatch):
    """The process dies between the operation's commit and storing its answer (here: storing fails)."""
    client, card = till
    from loyalty.api import idempotency as api_idempotency

    def lost(**kwargs):
        raise DatabaseError("connection lost after the commit")

    monkeypatch.setattr(api_idempotency, "idempotency_complete", lost)
    first = send(client, "stamp", {"card_id": card.pk}, "k-9")
    monkeypatch.undo()

    # the client still got its answer; the key says "executed" and names the ledger row
    assert first.status_code == 201
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.ledger_transaction_id) == (State.EXECUTED, first.json()["transaction_id"])
    # a retry, now or after the takeover delay, never stamps again
    IdempotencyRecord.objects.update(claimed_at=timezone.now() - timedelta(minutes=30))
    retry = send(client, "stamp", {"card_id": card.pk}, "k-9")
    assert (retry.status_code, error_of(retry)["code"]) == (409, "REQUEST_IN_PROGRESS")
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1


@pytest.mark.django_db
def test_a_refusal_writes_no_executed_mark(till, store):
    client, card = till
    LoyaltyCard.objects.filter(pk=card.pk).update(is_active=False)

    response = send(client, "stamp", {"card_id": card.pk}, "k-10")

    assert (response.status_code, error_of(response)["code"]) == (422, "CARD_INACTIVE")
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.status_code, record.ledger_transaction_id) == (State.DONE, 422, None)


# --- Retention ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_keys_are_kept_24_hours_and_the_prune_task_deletes_only_older_ones(till, merchant, settings):
    client, card = till
    now = timezone.now()
    send(client, "stamp", {"card_id": card.pk}, "young")
    send(client, "stamp", {"card_id": card.pk}, "day-old")
    send(client, "stamp", {"card_id": card.pk}, "older")
    IdempotencyRecord.objects.filter(key="young").update(created_at=now - timedelta(hours=23, minutes=59))
    IdempotencyRecord.objects.filter(key="day-old").update(created_at=now - timedelta(hours=24, minutes=1))
    IdempotencyRecord.objects.filter(key="older").update(created_at=now - timedelta(days=3))

    assert prune_idempotency_keys.delay().get() == 2

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]
    assert send(client, "stamp", {"card_id": card.pk}, "young")["Idempotent-Replayed"] == "true"

    settings.IDEMPOTENCY_KEY_TTL_HOURS = 72
    IdempotencyRecord.objects.update(created_at=now - timedelta(hours=48))
    assert prune_idempotency_keys.delay().get() == 0


@pytest.mark.django_db
def test_the_prune_job_is_scheduled_hourly_once():
    from importlib import import_module

    from django.apps import apps

    job = PeriodicTask.objects.get(name="loyalty.prune_idempotency_keys")
    assert (job.task, job.interval.every, job.interval.period, job.enabled) == (
        "loyalty.prune_idempotency_keys",
        1,
        "hours",
        True,
    )
    import_module("loyalty.migrations.0009_prune_idempotency_keys_task").create_job(apps, None)
    assert PeriodicTask.objects.filter(name="loyalty.prune_idempotency_keys").count() == 1


# --- Ten retries at once -------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_threads_sending_one_stamp_with_one_key_stamp_once_on_postgresql(merchant, store):
    """The unique index decides the race: one execution, every other answer its replay or REQUEST_IN_PROGRESS."""
    factories.make_program(merchant, cooldown_minutes=0, max_daily_stamps=50)
    card = factories.make_card(store)
    client = client_for(factories.make_user("staff", merchant, stores=[store]), store)

    first, final = send_together(
        authorization=client._credentials["HTTP_AUTHORIZATION"], card_id=card.pk, key="one-tap-4c1e"
    )

    assert not [answer for answer in final if isinstance(answer, Exception)], final
    first_kinds = sorted(answer_kind(answer) for answer in first)
    assert set(first_kinds) <= {"original", "replay", "REQUEST_IN_PROGRESS"}, first_kinds
    assert first_kinds.count("original") == 1, first_kinds
    assert sorted(answer_kind(answer) for answer in final) == ["original"] + ["replay"] * 9, first_kinds
    assert len({answer.content for answer in final}) == 1  # ten identical bodies
    (stamp,) = LoyaltyTransaction.objects.filter(card=card, type="STAMP_EARNED")
    assert stamp.pk == final[0].json()["transaction_id"]
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1
    # and the answer is there for the next retry
    assert send(client, "stamp", {"card_id": card.pk}, "one-tap-4c1e").content == final[0].content


def test_ten_threads_sending_one_stamp_with_one_key_stamp_once_on_a_sqlite_file(tmp_path):
    """The embedded default: IMMEDIATE transactions on a SQLite file, whose write lock queues the claims."""
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DATABASE_URL": "",  # empty, not unset: a .env beside manage.py must not switch to PostgreSQL
            "SQLITE_PATH": str(tmp_path / "embedded.sqlite3"),
            "DEBUG": "true",
            "DJANGO_SETTINGS_MODULE": "loyalty_site.settings",
        }
    )

    result = subprocess.run(
        [sys.executable, "-m", "tests.api.idempotency_probe"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == [], report
    assert set(report["first"]) <= {"original", "replay", "REQUEST_IN_PROGRESS"}, report
    assert report["first"].count("original") == 1, report
    assert report["final"] == ["original"] + ["replay"] * 9, report
    assert report["distinct_bodies"] == 1, report
    assert report["stamp_rows"] == report["answered_transaction_ids"] and len(report["stamp_rows"]) == 1, report
    assert report["stamp_count"] == 1, report
