"""Staff PINs: create, change, deactivate, unlock, verify with lockout.

Verification costs one bcrypt check however many PINs a store has: a keyed
HMAC of (store, PIN) — ``lookup_digest`` — finds the single candidate row,
whose bcrypt hash is then checked. The HMAC key is a server secret of its
own (``LOYALTY_PIN_LOOKUP_KEY``), so the digest alone does not let someone
who reads the table test PINs offline faster than bcrypt, and rotating
``SECRET_KEY`` changes nothing here. The keys in
``LOYALTY_PIN_LOOKUP_KEYS_OLD`` still find a PIN, which is re-keyed with the
current key on its next success.

Brute force is bounded per store: each wrong PIN counts against the store's
guard row (and against the named PIN when the caller gives ``staff_pin_id``);
after the merchant's maximum within the lockout window, verification answers
``STAFF_PIN_LOCKED`` until the window passes or an owner or manager unlocks.
The guard row is locked for the whole check, so concurrent wrong PINs are
counted one after another and no more than the maximum are ever evaluated.
A success resets the counters. Counts are committed in their own transaction
before the error is raised, so the failed operation cannot roll them back.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import bcrypt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import (
    PermissionDenied,
    StaffPinInvalid,
    StaffPinLocked,
    StaffPinNotFound,
    StaffPinRequired,
    ValidationFailed,
)
from loyalty.models import LoyaltyTransaction, Store
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.context import Actor
from staff.models import Membership, StaffPin, StorePinGuard

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


@transaction.atomic
def pin_create(*, actor: Actor, store: Store, name: str, pin: str, staff_number: str = "") -> StaffPin:
    _check_can_manage(actor, store)
    validate_pin_format(pin)
    digest = _lookup_digest(store, pin)
    if _pin_taken(store, _lookup_digests(store, pin)):  # a PIN not yet re-keyed holds its value too
        raise _pin_in_use_error()
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
    # Only a new PIN's value is known; a reactivated PIN is checked under the key its row carries.
    digests = [staff_pin.lookup_digest]
    if pin is not None:
        validate_pin_format(pin)
        staff_pin.lookup_digest = _lookup_digest(staff_pin.store, pin)
        staff_pin.pin_hash = _hash(pin)
        fields += ["lookup_digest", "pin_hash"]
        digests = _lookup_digests(staff_pin.store, pin)
    if is_active is not None:
        staff_pin.is_active = is_active
        fields.append("is_active")
    if staff_pin.is_active and _pin_taken(staff_pin.store, digests, exclude_pk=staff_pin.pk):
        raise _pin_in_use_error()
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
    """Clear the PIN's lockout and its store's: an owner or manager vouches for the till."""
    _check_can_manage(actor, staff_pin.store)
    StaffPin.objects.filter(pk=staff_pin.pk).update(failed_attempts=0, locked_until=None)
    StorePinGuard.objects.filter(store=staff_pin.store).update(
        failed_attempts=0, locked_until=None, window_started_at=None
    )
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


def _guard_locked(store: Store) -> StorePinGuard:
    """The store's guard row, locked until the transaction ends; made on the store's first PIN check."""
    guard = StorePinGuard.objects.select_for_update().filter(store=store).first()
    if guard is None:
        StorePinGuard.objects.get_or_create(store=store)  # concurrent first checks: one row
        guard = StorePinGuard.objects.select_for_update().get(store=store)
    return guard


@transaction.atomic
def _attempt(*, store: Store, pin: str, staff_pin_id: int | None, now: datetime) -> _Attempt:
    merchant_settings = merchant_settings_get(merchant=store.merchant)
    max_attempts = merchant_settings.effective_pin_max_failed_attempts
    window = timedelta(minutes=merchant_settings.effective_pin_lockout_minutes)

    guard = _guard_locked(store)
    if guard.locked_until and guard.locked_until > now:
        return _Attempt(_Outcome.LOCKED, locked_until=guard.locked_until)

    named = None
    if staff_pin_id is not None:
        named = StaffPin.objects.select_for_update().filter(pk=staff_pin_id, store=store, is_active=True).first()
        if named and named.locked_until and named.locked_until > now:
            return _Attempt(_Outcome.LOCKED, locked_until=named.locked_until)

    digests = _lookup_digests(store, pin)
    rows = StaffPin.objects.filter(store=store, lookup_digest__in=digests, is_active=True)
    by_digest = {row.lookup_digest: row for row in rows}
    candidate = next((by_digest[digest] for digest in digests if digest in by_digest), None)  # current key first
    if named is not None and candidate is not None and candidate.pk != named.pk:
        candidate = None  # the right PIN of someone else is not the named staff member's PIN
    if candidate is not None and candidate.locked_until and candidate.locked_until > now:
        return _Attempt(_Outcome.LOCKED, locked_until=candidate.locked_until)  # locked stays locked
    matched = bcrypt.checkpw(pin.encode(), candidate.pin_hash.encode() if candidate else _dummy_hash())

    if matched and candidate is not None:
        # Found under an old key: re-keyed with the current one.
        StaffPin.objects.filter(pk=candidate.pk).update(
            failed_attempts=0, locked_until=None, last_used_at=now, lookup_digest=digests[0]
        )
        if guard.failed_attempts:
            StorePinGuard.objects.filter(pk=guard.pk).update(failed_attempts=0, window_started_at=None)
        return _Attempt(_Outcome.OK, staff_pin=candidate)

    if guard.window_started_at is None or now - guard.window_started_at > window:
        guard.failed_attempts, guard.window_started_at = 0, now
    guard.failed_attempts += 1
    if guard.failed_attempts >= max_attempts:
        guard.locked_until = now + window
    guard.save()
    locked_until = guard.locked_until if guard.failed_attempts >= max_attempts else None
    if named is not None:
        if named.locked_until is not None and named.locked_until <= now:
            # The lockout has passed: a new window starts, or one typo would lock the PIN again.
            named.failed_attempts, named.locked_until = 0, None
        named.failed_attempts += 1
        if named.failed_attempts >= max_attempts:
            named.locked_until = now + window
            locked_until = named.locked_until
        named.save(update_fields=["failed_attempts", "locked_until"])
    logger.warning(
        "staff_pin.failed",
        extra={"store": store.code, "failed_attempts": guard.failed_attempts, "max_attempts": max_attempts},
    )
    return _Attempt(
        _Outcome.INVALID, locked_until=locked_until, attempts_left=max(max_attempts - guard.failed_attempts, 0)
    )


def pin_verify(
    *, store: Store, pin: str | None, staff_pin_id: int | None = None, now: datetime | None = None
) -> StaffPin:
    """The active StaffPin of ``store`` matching ``pin``, or a domain error.

    Must run outside the operation's transaction (the domain services call
    it first) so that a failure's count is committed.
    """
    if not pin:
        raise StaffPinRequired()
    now = now or timezone.now()
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH):
        pin = "x"  # never matches, still counted and still costs one bcrypt check
    attempt = _attempt(store=store, pin=pin, staff_pin_id=staff_pin_id, now=now)
    if attempt.outcome is _Outcome.OK:
        return attempt.staff_pin
    if attempt.outcome is _Outcome.LOCKED:
        raise StaffPinLocked(details={"locked_until": attempt.locked_until.isoformat()})
    if attempt.locked_until is not None:
        raise StaffPinLocked(details={"locked_until": attempt.locked_until.isoformat()})
    raise StaffPinInvalid(details={"attempts_left": attempt.attempts_left})
