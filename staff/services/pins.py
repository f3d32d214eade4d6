"""Staff PINs: create, change, deactivate, unlock, verify with lockout.

Verification costs one bcrypt check however many PINs a store has: a keyed
HMAC of (store, PIN) — ``lookup_digest`` — finds the single candidate row,
whose bcrypt hash is then checked. The HMAC key is a server secret of its
own (``LOYALTY_PIN_LOOKUP_KEY``), so the digest alone does not let someone
who reads the table test PINs offline faster than bcrypt, and rotating
``SECRET_KEY`` changes nothing here. The keys in
``LOYALTY_PIN_LOOKUP_KEYS_OLD`` still find a PIN, which is re-keyed with the
current key on its next success.

Brute force is bounded per store by a sliding window: every wrong PIN at the
store is a ``StorePinFailure`` row, and once the window holds the merchant's
maximum, PIN entry at the store answers ``STAFF_PIN_LOCKED`` for the lockout
minutes (until an owner or manager unlocks). A success resets nothing, so a
staff member who knows their own PIN cannot type it between guesses to keep
guessing a colleague's; failures leave the window one by one as they age. A
wrong PIN that names a PIN (``staff_pin_id``) also counts for that PIN, which
then stays locked even when the store is unlocked for another PIN.

A check runs in three steps, so that bcrypt never runs inside a transaction
(on SQLite every transaction holds the database's write lock; on PostgreSQL
the store's guard row would stay locked):

1. a short transaction locks the store's ``StorePinGuard`` row, refuses if
   the store (or the named PIN) is locked, and writes the attempt's failure
   row *before* the check: attempts in flight count, so no more than the
   maximum are ever evaluated, however many arrive at once;
2. bcrypt, outside any transaction;
3. a wrong PIN leaves its row; a right one deletes it in a second short
   transaction (re-checking the row it matched), so a success costs no
   attempt. While the last attempt left is being checked, the store answers
   ``STAFF_PIN_LOCKED``; if that PIN is right, the lock it caused is lifted.

On PostgreSQL the commits of steps 1 and 3 do not wait for the disk
(``synchronous_commit`` off for those two transactions only): other
sessions see them at once as usual, and only a crash of the database server
could forget the attempts of its last fraction of a second.
"""

import functools
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import bcrypt
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.domain.actors import Actor
from loyalty.exceptions import (
    PermissionDenied,
    StaffPinInvalid,
    StaffPinLocked,
    StaffPinNotFound,
    StaffPinRequired,
    ValidationFailed,
)
from loyalty.models import LoyaltyTransaction, Store
from loyalty.raw_sql import (
    column_list,
    datetime_parameter,
    for_update_of,
    row_delete,
    row_insert,
    row_instance,
    row_update,
    table,
)
from loyalty.selectors.settings import merchant_settings_get
from loyalty_site.db import prepared_execute, prepared_fetch_all, prepared_fetch_one
from staff.models import Membership, PinLockout, StaffPin, StorePinFailure, StorePinGuard

logger = logging.getLogger(__name__)

PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 8


def _lookup_digest(store: Store, pin: str, key: str | None = None) -> str:
    """The digest under ``key``, by default the current lookup key (the one new and re-keyed rows carry)."""
    message = f"{store.pk}:{pin}".encode()
    return hmac.new((key or settings.LOYALTY_PIN_LOOKUP_KEY).encode(), message, hashlib.sha256).hexdigest()


def _lookup_digests(store: Store, pin: str) -> list[str]:
    """The digests a row of this PIN may carry: under the current key first, then under each old key."""
    keys = [settings.LOYALTY_PIN_LOOKUP_KEY, *settings.LOYALTY_PIN_LOOKUP_KEYS_OLD]
    return list(dict.fromkeys(_lookup_digest(store, pin, key) for key in keys))


def _hash(pin: str) -> str:
    return bcrypt.hashpw(pin.encode(), bcrypt.gensalt(rounds=settings.LOYALTY_PIN_BCRYPT_ROUNDS)).decode()


_DUMMY_HASH: bytes | None = None


def _dummy_hash() -> bytes:
    """A hash to check against when no row matches, so a miss costs as much as a hit."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = bcrypt.hashpw(b"no-such-pin", bcrypt.gensalt(rounds=settings.LOYALTY_PIN_BCRYPT_ROUNDS))
    return _DUMMY_HASH


def validate_pin_format(pin: str) -> None:
    if not (isinstance(pin, str) and pin.isascii() and pin.isdigit() and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH):
        raise ValidationFailed(
            _("A PIN is 4 to 8 digits."), details={"pin": [str(_("A PIN is 4 to 8 digits."))]}
        )


def _manager_works_at(actor: Actor, store: Store) -> bool:
    return (
        actor.user is not None
        and Membership.objects.filter(user=actor.user, merchant=actor.merchant, is_active=True, stores=store).exists()
    )


def _check_can_manage(actor: Actor, store: Store) -> None:
    if store.merchant_id != actor.merchant.pk:
        raise StaffPinNotFound()
    if not actor.can_manage_pins:
        raise PermissionDenied(_("Only owners and managers manage staff PINs."))
    if not actor.is_owner and not _manager_works_at(actor, store):
        raise PermissionDenied(_("Managers manage the staff PINs of their own stores only."))


def _pin_taken(store: Store, digests: list[str], exclude_pk=None) -> bool:
    qs = StaffPin.objects.filter(store=store, lookup_digest__in=digests, is_active=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _pin_in_use_error():
    return ValidationFailed(
        _("Another active PIN at this store is the same; choose a different PIN."),
        details={"pin": [str(_("This PIN is already used at this store."))]},
    )


def validate_pin_available(*, store: Store, pin: str | None = None, staff_pin: StaffPin | None = None) -> None:
    """Refuse a value another active PIN of ``store`` has (``ValidationFailed``).

    ``staff_pin`` is the PIN being changed (its own value is no conflict);
    without ``pin``, its current value is checked, as when it is reactivated.
    Forms ask before saving, so the error shows on the form; the services
    ask again inside their transaction.
    """
    # A PIN not yet re-keyed holds its value under an old key: every key's digest counts.
    digests = _lookup_digests(store, pin) if pin is not None else [staff_pin.lookup_digest]
    if _pin_taken(store, digests, exclude_pk=staff_pin.pk if staff_pin is not None else None):
        raise _pin_in_use_error()


def pin_entry_locked_until(*, staff_pin: StaffPin, now: datetime | None = None) -> datetime | None:
    """Until when PIN entry with this PIN is refused, if it is now: its own lockout or its store's, the later.

    Reads ``staff_pin.store.pin_guard`` (``select_related("store__pin_guard")``
    for a list). Unlocking the PIN (``pin_unlock``) lifts both.
    """
    now = now or timezone.now()
    guard = getattr(staff_pin.store, "pin_guard", None)  # no row: the store never had a PIN check
    ends = [
        locked_until
        for locked_until in (staff_pin.locked_until, guard.locked_until if guard is not None else None)
        if _is_locked(locked_until, now)
    ]
    return max(ends, default=None)


def stores_pin_entry_locked(*, stores: QuerySet[Store], now: datetime | None = None) -> list[StorePinGuard]:
    """The lockouts in force among ``stores`` (their guard rows, with the store), soonest end first."""
    now = now or timezone.now()
    return list(
        StorePinGuard.objects.filter(store__in=stores, locked_until__gt=now)
        .select_related("store")
        .order_by("locked_until", "store__name")
    )


@transaction.atomic
def pin_create(*, actor: Actor, store: Store, name: str, pin: str, staff_number: str = "") -> StaffPin:
    _check_can_manage(actor, store)
    validate_pin_format(pin)
    digest = _lookup_digest(store, pin)
    validate_pin_available(store=store, pin=pin)
    try:
        with transaction.atomic():
            return StaffPin.objects.create(
                merchant_id=store.merchant_id,
                store=store,
                name=name,
                staff_number=staff_number,
                pin_hash=_hash(pin),
                lookup_digest=digest,
            )
    except IntegrityError:  # a concurrent create took the same PIN
        raise _pin_in_use_error() from None


@transaction.atomic
def pin_update(
    *,
    actor: Actor,
    staff_pin: StaffPin,
    name: str | None = None,
    pin: str | None = None,
    staff_number: str | None = None,
    is_active: bool | None = None,
) -> StaffPin:
    _check_can_manage(actor, staff_pin.store)
    fields = ["updated_at"]
    if name is not None:
        staff_pin.name = name
        fields.append("name")
    if staff_number is not None:
        staff_pin.staff_number = staff_number
        fields.append("staff_number")
    if pin is not None:
        validate_pin_format(pin)
    is_active_after = staff_pin.is_active if is_active is None else is_active
    if is_active_after:
        # Only a new PIN's value is known; a reactivated PIN is checked under the key its row carries.
        validate_pin_available(store=staff_pin.store, pin=pin, staff_pin=staff_pin)
    if pin is not None:
        staff_pin.lookup_digest = _lookup_digest(staff_pin.store, pin)
        staff_pin.pin_hash = _hash(pin)
        fields += ["lookup_digest", "pin_hash"]
    if is_active is not None:
        staff_pin.is_active = is_active
        fields.append("is_active")
    try:
        with transaction.atomic():
            staff_pin.save(update_fields=fields)
    except IntegrityError:
        raise _pin_in_use_error() from None
    return staff_pin


@transaction.atomic
def pin_delete(*, actor: Actor, staff_pin: StaffPin) -> bool:
    """Delete a PIN, or deactivate it when transactions name it. Returns True if deleted."""
    _check_can_manage(actor, staff_pin.store)
    if LoyaltyTransaction.objects.filter(staff_pin=staff_pin).exists():
        staff_pin.is_active = False
        staff_pin.save(update_fields=["is_active", "updated_at"])
        return False
    staff_pin.delete()
    return True


@transaction.atomic
def pin_unlock(*, actor: Actor, staff_pin: StaffPin) -> StaffPin:
    """Clear the PIN's lockout and its store's: an owner or manager vouches for the till.

    The store's failures are forgiven (its window starts empty); another PIN
    locked by failures that named it stays locked until unlocked itself.
    """
    _check_can_manage(actor, staff_pin.store)
    store = staff_pin.store
    StorePinGuard.objects.select_for_update().filter(store=store).first()  # after any check in progress
    StorePinFailure.objects.filter(store=store).delete()
    StorePinGuard.objects.filter(store=store).update(failed_attempts=0, locked_until=None)
    StaffPin.objects.filter(pk=staff_pin.pk).update(failed_attempts=0, locked_until=None)
    StaffPin.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=timezone.now()), store=store, failed_attempts__gt=0
    ).update(failed_attempts=0)  # their failures were the store's rows just deleted
    staff_pin.refresh_from_db()
    return staff_pin


def pin_list(*, actor: Actor, store: Store | None = None) -> QuerySet[StaffPin]:
    """The PINs the actor manages: any store's for owners, their own stores' for managers, none for staff.

    ``store`` narrows to one store (another merchant's store is not found).
    Hashes and digests are fields of the rows: interfaces must not show them.
    """
    if store is not None:
        _check_can_manage(actor, store)
    elif not actor.can_manage_pins:
        raise PermissionDenied(_("Only owners and managers manage staff PINs."))
    pins = StaffPin.objects.for_merchant(actor.merchant).select_related("store")
    if store is not None:
        return pins.filter(store=store)
    if actor.is_owner:
        return pins
    if actor.user is None:
        return pins.none()
    return pins.filter(
        store__in=Store.objects.filter(
            memberships__user=actor.user, memberships__merchant=actor.merchant, memberships__is_active=True
        )
    )


class _Outcome(Enum):
    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"


@dataclass(frozen=True)
class _Attempt:
    outcome: _Outcome
    staff_pin: StaffPin | None = None
    locked_until: datetime | None = None
    attempts_left: int | None = None


@dataclass(frozen=True)
class _Limits:
    max_attempts: int
    window: timedelta


@dataclass(frozen=True)
class _Reservation:
    """An attempt counted as a failure before its check (step 1), and what the check needs."""

    failure_id: int
    named_id: int | None
    candidate: StaffPin | None  # the active row of this PIN (of the named one only, when a PIN is named)
    store_failures: int  # in the window, this attempt included
    store_locked_until: datetime | None  # set when this attempt filled the window
    named_locked_until: datetime | None  # set when this attempt filled the named PIN's count


# The statements every PIN check runs are written by hand and prepared (loyalty/raw_sql.py, loyalty_site/db.py):
# built by the ORM they cost more than the rest of the check besides bcrypt. The rarer paths (a window with
# failures in it, a named PIN, a lock) stay in the ORM.
_GUARD_COLUMNS = ("store_id", "failed_attempts", "locked_until")
_PIN_COLUMNS = tuple(field.attname for field in StaffPin._meta.concrete_fields)


def _guard_locked(store: Store) -> StorePinGuard:
    """The store's guard row, locked until the transaction ends; made on the store's first PIN check."""
    guard = _guard_lock_sql(store.pk)
    if guard is None:
        StorePinGuard.objects.get_or_create(store=store)  # concurrent first checks: one row
        guard = _guard_lock_sql(store.pk)
    return guard


def _guard_lock_sql(store_id: int) -> StorePinGuard | None:
    row = prepared_fetch_one(_guard_lock_statement(connection.vendor), [store_id], binary=True)
    return None if row is None else row_instance(StorePinGuard, _GUARD_COLUMNS, row[: len(_GUARD_COLUMNS)])


@functools.cache
def _guard_lock_statement(vendor: str) -> str:
    # On PostgreSQL the same statement makes this transaction's commit not wait for the disk (SET LOCAL, as a
    # function): a check's bookkeeping is two commits, each ~1 ms of waiting, on every PIN operation. What a
    # crash of PostgreSQL could then lose is the last fraction of a second of counted attempts (at most three
    # times wal_writer_delay), which nobody can cause at will; the operation's own transaction still waits.
    no_wait = ", set_config('synchronous_commit', 'off', true)" if vendor == "postgresql" else ""
    return (
        f"SELECT {column_list(StorePinGuard, _GUARD_COLUMNS, 'g')}{no_wait} FROM {table(StorePinGuard)} g"
        f" WHERE g.store_id = %s{for_update_of('g')}"
    )


def _candidates_sql(store: Store, digests: list[str]) -> list[StaffPin]:
    """The store's active PINs whose lookup digest is one of ``digests`` (one, or one per key)."""
    rows = prepared_fetch_all(_candidates_statement(len(digests), connection.vendor), [store.pk, *digests])
    return [row_instance(StaffPin, _PIN_COLUMNS, row) for row in rows]


@functools.cache
def _candidates_statement(count: int, vendor: str) -> str:
    return (
        f"SELECT {column_list(StaffPin, _PIN_COLUMNS, 'p')} FROM {table(StaffPin)} p"
        f" WHERE p.store_id = %s AND p.lookup_digest IN ({', '.join(['%s'] * count)}) AND p.is_active"
    )


def _pin_use_sql(candidate: StaffPin, *, now: datetime, lookup_digest: str) -> bool:
    """The candidate's use recorded, if its row is as checked (same hash, active) and no lock has come on it."""
    at = datetime_parameter(now)
    statement = _pin_use_statement(connection.vendor)
    return bool(prepared_execute(statement, [at, lookup_digest, candidate.pk, candidate.pin_hash, at]))


@functools.cache
def _pin_use_statement(vendor: str) -> str:
    # As QuerySet.update(): updated_at is left alone.
    return (
        f"UPDATE {table(StaffPin)} SET last_used_at = %s, lookup_digest = %s"
        " WHERE id = %s AND pin_hash = %s AND is_active AND (locked_until IS NULL OR locked_until <= %s)"
    )


def _failures_in_window(*, limits: _Limits, now: datetime, **lookup) -> int:
    return StorePinFailure.objects.filter(failed_at__gt=now - limits.window, **lookup).count()


def _is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def _lockout_record(*, store: Store, staff_pin_id: int | None, failed_attempts: int, now, until) -> None:
    """Keep the lockout in the history and raise its fraud alerts once it is committed.

    Only lockouts that stand: one that an attempt in flight caused and its
    right PIN then lifted (``_failure_take_back``) is not one.
    """
    from loyalty.services.alerts import alerts_lockout_raise  # loyalty's alerts read staff's models; import late

    lockout = PinLockout.objects.create(
        store=store, staff_pin_id=staff_pin_id, failed_attempts=failed_attempts, locked_at=now, locked_until=until
    )
    transaction.on_commit(lambda: alerts_lockout_raise(lockout_id=lockout.pk))


@transaction.atomic
def _attempt_reserve(
    *, store: Store, digests: list[str], staff_pin_id: int | None, limits: _Limits, now: datetime
) -> _Reservation | _Attempt:
    """Step 1: refuse a locked store or named PIN, else count the attempt as a failure and find its candidate."""
    guard = _guard_locked(store)
    if _is_locked(guard.locked_until, now):
        return _Attempt(_Outcome.LOCKED, locked_until=guard.locked_until)
    named = None
    if staff_pin_id is not None:
        named = StaffPin.objects.filter(pk=staff_pin_id, store=store, is_active=True).first()
        if named is not None and _is_locked(named.locked_until, now):
            return _Attempt(_Outcome.LOCKED, locked_until=named.locked_until)

    store_failures = 0  # the guard's count is never below the window's, so 0 means an empty window
    if guard.failed_attempts:
        StorePinFailure.objects.filter(store=store, failed_at__lte=now - limits.window).delete()
        store_failures = _failures_in_window(store=store, limits=limits, now=now)
    if store_failures >= limits.max_attempts:  # the merchant lowered the maximum: the window is already full
        guard.failed_attempts, guard.locked_until = store_failures, now + limits.window
        guard.save(update_fields=["failed_attempts", "locked_until"])
        _lockout_record(store=store, staff_pin_id=None, failed_attempts=store_failures, now=now, until=guard.locked_until)
        return _Attempt(_Outcome.LOCKED, locked_until=guard.locked_until)
    failure = StorePinFailure(store=store, staff_pin=named, failed_at=now)
    row_insert(failure, ("store_id", "staff_pin_id", "failed_at"))
    guard.failed_attempts = store_failures + 1
    store_locked_until = now + limits.window if guard.failed_attempts >= limits.max_attempts else None
    guard.locked_until = store_locked_until
    row_update(guard, ("failed_attempts", "locked_until"))

    named_locked_until = None
    if named is not None:
        named.failed_attempts = _failures_in_window(staff_pin=named, limits=limits, now=now)
        if named.failed_attempts >= limits.max_attempts:
            named_locked_until = named.locked_until = now + limits.window
        elif named.locked_until is not None:  # a lockout that has passed: the PIN starts afresh
            named.locked_until = None
        named.save(update_fields=["failed_attempts", "locked_until"])

    by_digest = {row.lookup_digest: row for row in _candidates_sql(store, digests)}
    candidate = next((by_digest[digest] for digest in digests if digest in by_digest), None)  # current key first
    if named is not None and candidate is not None and candidate.pk != named.pk:
        candidate = None  # the right PIN of someone else is not the named staff member's PIN
    return _Reservation(
        failure_id=failure.pk,
        named_id=named.pk if named is not None else None,
        candidate=candidate,
        store_failures=guard.failed_attempts,
        store_locked_until=store_locked_until,
        named_locked_until=named_locked_until,
    )


@transaction.atomic
def _attempt_succeed(
    *, store: Store, reservation: _Reservation, current_digest: str, limits: _Limits, now: datetime
) -> _Attempt:
    """Step 3 for a PIN bcrypt accepted: take its failure back, unless its row changed or a lock now applies."""
    guard = _guard_locked(store)
    candidate = reservation.candidate
    if reservation.named_id is None and not _is_locked(guard.locked_until, now):
        # The usual case, in one statement: the row is as it was checked and no lock has come on it since.
        # (A named PIN's own count included this attempt: the full path below recounts it.)
        if _pin_use_sql(candidate, now=now, lookup_digest=current_digest):
            _failure_take_back(guard=guard, reservation=reservation, limits=limits, now=now)
            candidate.last_used_at = now
            candidate.lookup_digest = current_digest
            return _Attempt(_Outcome.OK, staff_pin=candidate)

    candidate = StaffPin.objects.select_for_update().filter(pk=candidate.pk, store=store, is_active=True).first()
    if candidate is None or candidate.pin_hash != reservation.candidate.pin_hash:
        # Changed or deactivated during the check: the PIN given is no longer valid, and its failure stays.
        return _failed(reservation=reservation, limits=limits)
    if _failure_take_back(guard=guard, reservation=reservation, limits=limits, now=now):
        if reservation.named_id == candidate.pk:
            candidate.failed_attempts = _failures_in_window(staff_pin=candidate, limits=limits, now=now)
            if candidate.failed_attempts < limits.max_attempts:
                candidate.locked_until = None  # locked only because this attempt was in flight
    if _is_locked(guard.locked_until, now):
        return _Attempt(_Outcome.LOCKED, locked_until=guard.locked_until)
    if _is_locked(candidate.locked_until, now):
        # The right PIN of a PIN locked by guesses that named it: refused, not counted (it is no guess).
        candidate.save(update_fields=["failed_attempts", "locked_until"])
        return _Attempt(_Outcome.LOCKED, locked_until=candidate.locked_until)
    candidate.last_used_at = now
    candidate.lookup_digest = current_digest
    candidate.save(update_fields=["failed_attempts", "locked_until", "last_used_at", "lookup_digest"])
    return _Attempt(_Outcome.OK, staff_pin=candidate)


def _failure_take_back(*, guard: StorePinGuard, reservation: _Reservation, limits: _Limits, now: datetime) -> bool:
    """Delete a right PIN's failure row and recount the store (its guard row locked); False if an unlock took it."""
    if not row_delete(StorePinFailure, reservation.failure_id):
        return False
    remaining = guard.failed_attempts - 1  # the guard's count as of its last write, this attempt included
    guard.failed_attempts = _failures_in_window(store=guard.store_id, limits=limits, now=now) if remaining > 0 else 0
    if guard.failed_attempts < limits.max_attempts:
        guard.locked_until = None  # the window was full only because this attempt was in flight
    row_update(guard, ("failed_attempts", "locked_until"))
    return True


def _failed(*, reservation: _Reservation, limits: _Limits) -> _Attempt:
    """Step 3 for a wrong PIN: its failure was written in step 1; answer with the lock it caused, if any."""
    locked_until = reservation.store_locked_until or reservation.named_locked_until
    return _Attempt(
        _Outcome.INVALID,
        locked_until=locked_until,
        attempts_left=max(limits.max_attempts - reservation.store_failures, 0),
    )


def _limits(store: Store, merchant_settings=None) -> _Limits:
    if merchant_settings is None:
        merchant_settings = merchant_settings_get(merchant=store.merchant)
    return _Limits(
        max_attempts=merchant_settings.effective_pin_max_failed_attempts,
        window=timedelta(minutes=merchant_settings.effective_pin_lockout_minutes),
    )


def pin_verify(
    *,
    store: Store,
    pin: str | None,
    staff_pin_id: int | None = None,
    now: datetime | None = None,
    merchant_settings=None,
) -> StaffPin:
    """The active StaffPin of ``store`` matching ``pin``, or a domain error.

    ``merchant_settings``: the store's merchant's settings when the caller has read them already (their
    PIN lockout fields are what counts here); else they are read.

    Must run outside any transaction (the domain services call it before
    they open theirs): its counts must be committed whatever the operation
    does next, and bcrypt must not run while a transaction holds a lock.
    """
    if not pin:
        raise StaffPinRequired()
    now = now or timezone.now()
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH):
        pin = "x"  # never matches, still counted and still costs one bcrypt check
    limits = _limits(store, merchant_settings)
    digests = _lookup_digests(store, pin)
    attempt = _attempt_reserve(store=store, digests=digests, staff_pin_id=staff_pin_id, limits=limits, now=now)
    if isinstance(attempt, _Reservation):
        reservation = attempt
        candidate = reservation.candidate
        hashed = candidate.pin_hash.encode() if candidate is not None else _dummy_hash()
        if bcrypt.checkpw(pin.encode(), hashed) and candidate is not None:
            attempt = _attempt_succeed(
                store=store, reservation=reservation, current_digest=digests[0], limits=limits, now=now
            )
        else:
            attempt = _failed(reservation=reservation, limits=limits)
        if attempt.outcome is _Outcome.INVALID:
            if reservation.store_locked_until is not None:
                _lockout_record(
                    store=store,
                    staff_pin_id=None,
                    failed_attempts=reservation.store_failures,
                    now=now,
                    until=reservation.store_locked_until,
                )
            if reservation.named_locked_until is not None:
                _lockout_record(
                    store=store,
                    staff_pin_id=reservation.named_id,
                    failed_attempts=limits.max_attempts,  # the named PIN's count reached the maximum
                    now=now,
                    until=reservation.named_locked_until,
                )
            logger.warning(
                "staff_pin.failed",
                extra={
                    "store": store.code,
                    "failed_attempts": reservation.store_failures,
                    "max_attempts": limits.max_attempts,
                },
            )
    if attempt.outcome is _Outcome.OK:
        return attempt.staff_pin
    if attempt.locked_until is not None:
        raise StaffPinLocked(details={"locked_until": attempt.locked_until})
    raise StaffPinInvalid(details={"attempts_left": attempt.attempts_left})
