"""Idempotency keys: a retried store API write answers what the first one did, and runs once.

A key belongs to the token's merchant and names one request: its method,
path and body (``request_fingerprint``). Its life:

1. ``idempotency_claim`` inserts the record, ``in_progress``, in a
   transaction of its own before the operation. The unique (merchant, key)
   constraint decides a race; the loser reads the record: another request
   → ``IDEMPOTENCY_CONFLICT``; answered → the stored answer; still running
   → ``REQUEST_IN_PROGRESS``.
2. The operation runs. Its ledger write calls ``idempotency_operation_recorded``,
   which marks the record ``executed`` inside the operation's own
   transaction: once the operation has committed, its key can never be
   claimed again, whatever happens next. (The whole request is not one
   transaction: a staff PIN is checked before the operation's transaction
   opens, so that its failures stay counted and bcrypt holds no lock.)
3. ``idempotency_complete`` stores the answer (``done``), or
   ``idempotency_release`` deletes a record whose operation wrote nothing, so
   that a retry after a 5xx runs again.

A request that died between 1 and 3 (a killed worker) leaves its record
``in_progress``: after ``TAKEOVER_AFTER_MINUTES`` the next request with the
key takes it over and runs. Should the dead one wake up, its ledger write
finds its claim gone and rolls back. A record ``executed`` without an answer
(the process died in the instant between the commit and storing the answer)
answers ``REQUEST_IN_PROGRESS`` until it is pruned: the operation counted,
and a client that gives up looks the card up.
"""

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from loyalty.exceptions import IdempotencyKeyConflict, RequestInProgress
from loyalty.models import IdempotencyRecord, LoyaltyTransaction, Merchant

# Longer than any request lives (the server's timeouts are far shorter), short enough that a till
# retrying after a crashed worker is not refused for long.
TAKEOVER_AFTER_MINUTES = 2
RETRY_AFTER_SECONDS = 1

State = IdempotencyRecord.State


@dataclass(frozen=True)
class IdempotencyClaim:
    """This request holds the key: it runs the operation, then completes or releases the claim."""

    record_id: int
    claimed_at: datetime


@dataclass(frozen=True)
class IdempotentReplay:
    """The key's request was answered already: send this again."""

    status_code: int
    body: str


_current_claim: ContextVar[IdempotencyClaim | None] = ContextVar("idempotency_claim", default=None)


def request_fingerprint(*, method: str, path: str, body) -> str:
    """What makes two requests the same: method, path, and the body as canonical JSON (key order ignored).

    Keyed, because a body may carry a staff PIN (see ``IdempotencyRecord``).
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return salted_hmac("loyalty.idempotency.request", f"{method} {path}\n{canonical}", algorithm="sha256").hexdigest()


def _insert(*, merchant: Merchant, key: str, endpoint: str, request_hash: str, now: datetime):
    fields = {
        "merchant": merchant,
        "key": key,
        "endpoint": endpoint[:255],
        "request_hash": request_hash,
        "created_at": now,
        "claimed_at": now,
    }
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a lost race must not break the caller's transaction
                return IdempotencyRecord.objects.create(**fields)
        # Autocommit: the INSERT is its own transaction, committed before the operation starts.
        return IdempotencyRecord.objects.create(**fields)
    except IntegrityError:
        return None


def idempotency_claim(
    *, merchant: Merchant, key: str, endpoint: str, request_hash: str, now: datetime | None = None
) -> IdempotencyClaim | IdempotentReplay:
    """Claim ``key`` for this request, or say what the request that holds it got.

    Raises ``IdempotencyKeyConflict`` (the key names another request) or
    ``RequestInProgress`` (its request is still running). One INSERT when the
    key is new; an INSERT and a SELECT when it is not.
    """
    now = now or timezone.now()
    for _attempt in range(3):  # the record may be released or pruned between the INSERT and the SELECT
        record = _insert(merchant=merchant, key=key, endpoint=endpoint, request_hash=request_hash, now=now)
        if record is not None:
            return IdempotencyClaim(record_id=record.pk, claimed_at=now)
        existing = IdempotencyRecord.objects.filter(merchant=merchant, key=key).first()
        if existing is None:
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyKeyConflict()
        if existing.state == State.DONE:
            return IdempotentReplay(status_code=existing.status_code, body=existing.response_body)
        if existing.state == State.IN_PROGRESS and existing.claimed_at <= now - timedelta(
            minutes=TAKEOVER_AFTER_MINUTES
        ):
            # Its request died before its operation committed: the first to change the claim takes it over.
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, state=State.IN_PROGRESS, claimed_at=existing.claimed_at
            ).update(claimed_at=now)
            if taken:
                return IdempotencyClaim(record_id=existing.pk, claimed_at=now)
        break
    raise RequestInProgress(details={"retry_after_seconds": RETRY_AFTER_SECONDS})


@contextmanager
def idempotency_scope(claim: IdempotencyClaim):
    """While the claimed request runs: its ledger write marks the claim executed (``idempotency_operation_recorded``)."""
    token = _current_claim.set(claim)
    try:
        yield
    finally:
        _current_claim.reset(token)


def idempotency_operation_recorded(*, ledger_transaction: LoyaltyTransaction) -> None:
    """Called by the ledger write, inside the operation's transaction: no-op outside an idempotent request.

    Raises ``RequestInProgress`` when the claim was taken over meanwhile, which
    rolls the operation back: the request that took it over runs instead.
    """
    claim = _current_claim.get()
    if claim is None:
        return
    marked = IdempotencyRecord.objects.filter(
        pk=claim.record_id, claimed_at=claim.claimed_at, state__in=[State.IN_PROGRESS, State.EXECUTED]
    ).update(state=State.EXECUTED, ledger_transaction=ledger_transaction)
    if not marked:
        raise RequestInProgress(details={"retry_after_seconds": RETRY_AFTER_SECONDS})


def idempotency_complete(*, claim: IdempotencyClaim, status_code: int, body: str) -> None:
    """Store the answer the claimed request got; from now on the key replays it."""
    IdempotencyRecord.objects.filter(pk=claim.record_id, claimed_at=claim.claimed_at).update(
        state=State.DONE, status_code=status_code, response_body=body
    )


def idempotency_release(*, claim: IdempotencyClaim) -> bool:
    """Free the key of a request whose operation wrote nothing (a 5xx), so that a retry runs.

    False when the operation had committed: that key stays taken, or a retry would count twice.
    """
    deleted, _by_model = IdempotencyRecord.objects.filter(
        pk=claim.record_id, claimed_at=claim.claimed_at, state=State.IN_PROGRESS
    ).delete()
    return bool(deleted)


def idempotency_records_prune(*, now: datetime | None = None) -> int:
    """Delete the keys older than ``IDEMPOTENCY_KEY_TTL_HOURS``; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
