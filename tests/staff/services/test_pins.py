"""Staff PINs: management rights, format and uniqueness, one bcrypt check, lockout."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.exceptions import (
    PermissionDenied,
    StaffPinInvalid,
    StaffPinLocked,
    StaffPinNotFound,
    StaffPinRequired,
    ValidationFailed,
)
from loyalty.models import MerchantSettings
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.stamps import stamp_add
from staff.models import StaffPin, StorePinGuard
from staff.services.pins import pin_create, pin_delete, pin_list, pin_unlock, pin_update, pin_verify
from tests import factories

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def station(merchant):
    return factories.make_store(merchant, code="alpha-station")


@pytest.fixture
def manager(merchant, store):
    """A manager of the center store only."""
    user = factories.make_user("manager", merchant, stores=[store])
    return Actor(merchant=merchant, user=user, role="manager", channel=Channel.ADMIN)


@pytest.fixture
def checkpw_calls(monkeypatch):
    """Count bcrypt checks (a spy on the third-party function; it still does the real work)."""
    calls = []
    real = bcrypt.checkpw

    def spy(password, hashed):
        calls.append(password)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return calls


def _answer(store, pin, now, **extra):
    """The staff member's name for a right PIN, else the error code."""
    try:
        return pin_verify(store=store, pin=pin, now=now, **extra).name
    except (StaffPinInvalid, StaffPinLocked) as error:
        return error.code


def limits(merchant, attempts, minutes):
    MerchantSettings.objects.update_or_create(
        merchant=merchant, defaults={"pin_max_failed_attempts": attempts, "pin_lockout_minutes": minutes}
    )


# --- create / update / delete / unlock / list ------------------------------------------------


def test_create_keeps_only_a_hash(store, owner):
    pin = pin_create(actor=owner, store=store, name="Anna", pin="4821", staff_number="S-7")

    pin.refresh_from_db()
    assert (pin.name, pin.staff_number, pin.store, pin.merchant, pin.is_active) == ("Anna", "S-7", store, store.merchant, True)
    assert pin.pin_hash.startswith("$2") and bcrypt.checkpw(b"4821", pin.pin_hash.encode())
    assert "4821" not in pin.pin_hash + pin.lookup_digest
    assert "4821" not in str(pin) and "4821" not in repr(pin)


@pytest.mark.parametrize("value", ["123", "123456789", "12a4", "", " 1234", "١٢٣٤", None, 1234])
def test_a_pin_is_4_to_8_ascii_digits(store, owner, value):
    with pytest.raises(ValidationFailed) as error:
        pin_create(actor=owner, store=store, name="X", pin=value)
    assert "pin" in error.value.details
    assert not StaffPin.objects.exists()


@pytest.mark.parametrize("value", ["1234", "12345678", "0000"])
def test_four_to_eight_digits_are_accepted(store, owner, value):
    assert pin_create(actor=owner, store=store, name="X", pin=value).pk


def test_a_pin_is_unique_among_the_active_pins_of_a_store(store, station, owner):
    pin_create(actor=owner, store=store, name="Anna", pin="4821")

    with pytest.raises(ValidationFailed) as error:
        pin_create(actor=owner, store=store, name="Ben", pin="4821")
    assert "pin" in error.value.details
    assert pin_create(actor=owner, store=station, name="Ben", pin="4821").store == station  # another store: fine


def test_a_deactivated_pin_frees_its_value_and_cannot_come_back_over_a_new_one(store, owner):
    old = pin_create(actor=owner, store=store, name="Anna", pin="4821")
    pin_update(actor=owner, staff_pin=old, is_active=False)
    pin_create(actor=owner, store=store, name="Ben", pin="4821")

    with pytest.raises(ValidationFailed):
        pin_update(actor=owner, staff_pin=StaffPin.objects.get(pk=old.pk), is_active=True)
    assert StaffPin.objects.get(pk=old.pk).is_active is False


def test_update_changes_name_number_and_pin(store, owner):
    pin = pin_create(actor=owner, store=store, name="Anna", pin="4821")

    pin_update(actor=owner, staff_pin=pin, name="Anna B.", staff_number="42", pin="97531")

    assert pin_verify(store=store, pin="97531", now=NOW).pk == pin.pk
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="4821", now=NOW)
    pin.refresh_from_db()
    assert (pin.name, pin.staff_number) == ("Anna B.", "42")


def test_update_refuses_a_pin_already_used_at_the_store(store, owner):
    pin_create(actor=owner, store=store, name="Anna", pin="4821")
    ben = pin_create(actor=owner, store=store, name="Ben", pin="1357")
    with pytest.raises(ValidationFailed):
        pin_update(actor=owner, staff_pin=ben, pin="4821")
    assert pin_verify(store=store, pin="1357", now=NOW).pk == ben.pk


def test_delete_removes_an_unused_pin(store, owner):
    pin = pin_create(actor=owner, store=store, name="Anna", pin="4821")
    assert pin_delete(actor=owner, staff_pin=pin) is True
    assert not StaffPin.objects.filter(pk=pin.pk).exists()


def test_delete_deactivates_a_pin_named_on_transactions(store, owner, card, program):
    program.require_staff_pin = True
    program.save()
    pin = pin_create(actor=owner, store=store, name="Anna", pin="4821")
    stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), staff_pin="4821", now=NOW)

    assert pin_delete(actor=owner, staff_pin=pin) is False

    pin.refresh_from_db()
    assert pin.is_active is False
    assert pin.transactions.count() == 1
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="4821", now=NOW)


def test_owners_manage_pins_of_every_store(store, station, owner):
    pin = pin_create(actor=owner, store=station, name="Cleo", pin="2468")
    pin_update(actor=owner, staff_pin=pin, name="Cleo D.")
    pin_unlock(actor=owner, staff_pin=pin)
    assert set(pin_list(actor=owner)) == {pin}


def test_managers_manage_pins_of_their_stores_only(store, station, owner, manager):
    mine = pin_create(actor=manager, store=store, name="Anna", pin="4821")
    pin_update(actor=manager, staff_pin=mine, name="Anna B.")
    pin_unlock(actor=manager, staff_pin=mine)
    elsewhere = pin_create(actor=owner, store=station, name="Cleo", pin="2468")

    with pytest.raises(PermissionDenied):
        pin_create(actor=manager, store=station, name="Dan", pin="1111")
    for operation in (
        lambda: pin_update(actor=manager, staff_pin=elsewhere, name="hijacked"),
        lambda: pin_unlock(actor=manager, staff_pin=elsewhere),
        lambda: pin_delete(actor=manager, staff_pin=elsewhere),
        lambda: pin_list(actor=manager, store=station),
    ):
        with pytest.raises(PermissionDenied):
            operation()
    assert StaffPin.objects.get(pk=elsewhere.pk).name == "Cleo"
    assert list(pin_list(actor=manager)) == [StaffPin.objects.get(pk=mine.pk)]
    assert pin_delete(actor=manager, staff_pin=mine) is True


def test_a_deactivated_manager_manages_nothing(store, manager):
    manager.user.membership.is_active = False
    manager.user.membership.save()
    with pytest.raises(PermissionDenied):
        pin_create(actor=manager, store=store, name="Anna", pin="4821")


def test_staff_manage_no_pins(store, merchant):
    user = factories.make_user("staff", merchant, stores=[store])
    staff = Actor(merchant=merchant, store=store, user=user, role="staff")
    pin = factories.make_pin(store, pin="4821")
    for operation in (
        lambda: pin_create(actor=staff, store=store, name="Me", pin="9999"),
        lambda: pin_update(actor=staff, staff_pin=pin, name="x"),
        lambda: pin_unlock(actor=staff, staff_pin=pin),
        lambda: pin_delete(actor=staff, staff_pin=pin),
        lambda: pin_list(actor=staff),
    ):
        with pytest.raises(PermissionDenied) as error:
            operation()
        assert error.value.code == "PERMISSION_DENIED"
    assert StaffPin.objects.count() == 1


def test_another_merchants_store_or_pin_is_not_found(owner, other_store):
    theirs = factories.make_pin(other_store, pin="4821")
    with pytest.raises(StaffPinNotFound):
        pin_create(actor=owner, store=other_store, name="x", pin="1234")
    with pytest.raises(StaffPinNotFound):
        pin_update(actor=owner, staff_pin=theirs, name="x")
    with pytest.raises(StaffPinNotFound):
        pin_delete(actor=owner, staff_pin=theirs)
    with pytest.raises(StaffPinNotFound):
        pin_list(actor=owner, store=other_store)
    assert theirs not in pin_list(actor=owner)


# --- verification ---------------------------------------------------------------------------


def test_verification_costs_one_bcrypt_check_whatever_the_number_of_pins(store, checkpw_calls):
    pins = [factories.make_pin(store, pin=f"{1000 + index * 7}") for index in range(25)]

    assert pin_verify(store=store, pin="1070", now=NOW).pk == pins[10].pk
    assert len(checkpw_calls) == 1

    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="9999", now=NOW)
    assert len(checkpw_calls) == 2

    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="not a pin", now=NOW)  # malformed: same cost, still counted
    assert len(checkpw_calls) == 3
    assert StorePinGuard.objects.get(store=store).failed_attempts == 2


def test_a_pin_is_valid_only_at_its_store(store, station):
    factories.make_pin(store, pin="4821")
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=station, pin="4821", now=NOW)


def test_no_pin_is_required_error(store):
    for empty in (None, ""):
        with pytest.raises(StaffPinRequired):
            pin_verify(store=store, pin=empty, now=NOW)


def test_success_records_last_use(store):
    pin = factories.make_pin(store, pin="4821")
    pin_verify(store=store, pin="4821", now=NOW)
    pin.refresh_from_db()
    assert pin.last_used_at == NOW


# --- lockout --------------------------------------------------------------------------------


def test_lockout_after_the_merchants_maximum_within_the_window(store, merchant, checkpw_calls):
    limits(merchant, attempts=3, minutes=10)
    factories.make_pin(store, pin="4821")

    for attempts_left in (2, 1):
        with pytest.raises(StaffPinInvalid) as error:
            pin_verify(store=store, pin="0000", now=NOW)
        assert error.value.details == {"attempts_left": attempts_left}
    with pytest.raises(StaffPinLocked) as error:
        pin_verify(store=store, pin="0000", now=NOW + timedelta(minutes=1))
    locked_until = NOW + timedelta(minutes=11)
    assert error.value.details == {"locked_until": locked_until}
    assert len(checkpw_calls) == 3

    # Locked: even the right PIN is refused, and no more guesses are evaluated.
    with pytest.raises(StaffPinLocked) as error:
        pin_verify(store=store, pin="4821", now=locked_until - timedelta(seconds=1))
    assert error.value.details == {"locked_until": locked_until}
    assert len(checkpw_calls) == 3

    assert pin_verify(store=store, pin="4821", now=locked_until + timedelta(seconds=1))


def test_without_merchant_settings_the_global_limits_apply(store, merchant, settings):
    settings.LOYALTY_PIN_MAX_FAILED_ATTEMPTS = 2
    settings.LOYALTY_PIN_LOCKOUT_MINUTES = 7
    factories.make_pin(store, pin="4821")
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="0000", now=NOW)
    with pytest.raises(StaffPinLocked) as error:
        pin_verify(store=store, pin="0000", now=NOW)
    assert error.value.details["locked_until"] == NOW + timedelta(minutes=7)


def test_failures_outside_the_window_do_not_add_up(store, merchant):
    limits(merchant, attempts=3, minutes=10)
    factories.make_pin(store, pin="4821")
    for at in (NOW, NOW + timedelta(minutes=1)):
        with pytest.raises(StaffPinInvalid):
            pin_verify(store=store, pin="0000", now=at)

    later = NOW + timedelta(minutes=11)
    for attempts_left in (2, 1):  # a new window started: two more before the lock
        with pytest.raises(StaffPinInvalid) as error:
            pin_verify(store=store, pin="0000", now=later)
        assert error.value.details == {"attempts_left": attempts_left}


def test_a_known_pin_between_guesses_does_not_reset_the_count(store, merchant, checkpw_calls):
    """A staff member who knows their own PIN cannot walk through a colleague's by typing it between guesses."""
    # given Ben, who knows his own PIN, and Anna's PIN, which he wants
    limits(merchant, attempts=5, minutes=30)
    factories.make_pin(store, pin="1357", name="Ben")
    factories.make_pin(store, pin="0021", name="Anna")

    # when he guesses 0000, 0001, ... and types his own PIN after every four guesses
    answers = []
    for guess in range(100):
        if guess and guess % 4 == 0:
            answers.append(_answer(store, "1357", NOW))
        answers.append(_answer(store, f"{guess:04d}", NOW))
        if answers[-1] == "STAFF_PIN_LOCKED":
            break

    # then the store locks after five wrong PINs: Anna's PIN (his 22nd guess) is never reached
    assert answers == ["STAFF_PIN_INVALID"] * 4 + ["Ben", "STAFF_PIN_LOCKED"]
    assert len(checkpw_calls) == 6
    guard = StorePinGuard.objects.get(store=store)
    assert (guard.failed_attempts, guard.locked_until) == (5, NOW + timedelta(minutes=30))
    # and his own PIN does not unlock it: refused, not even checked
    assert _answer(store, "1357", NOW + timedelta(minutes=29)) == "STAFF_PIN_LOCKED"
    assert len(checkpw_calls) == 6


def test_a_success_neither_resets_the_count_nor_uses_up_an_attempt(store, merchant):
    limits(merchant, attempts=3, minutes=10)
    factories.make_pin(store, pin="4821")
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="0000", now=NOW)
    with pytest.raises(StaffPinInvalid) as error:
        pin_verify(store=store, pin="0001", now=NOW)
    assert error.value.details == {"attempts_left": 1}

    assert pin_verify(store=store, pin="4821", now=NOW)  # on the last attempt left: works, locks nothing
    assert pin_verify(store=store, pin="4821", now=NOW)
    assert StorePinGuard.objects.get(store=store).locked_until is None

    with pytest.raises(StaffPinLocked):  # the count was kept: the third wrong PIN locks
        pin_verify(store=store, pin="0002", now=NOW)


def test_while_the_last_attempt_is_checked_the_store_answers_locked_and_a_right_pin_lifts_it(
    store, merchant, monkeypatch
):
    """No guess is evaluated beyond the maximum, even one arriving while the last attempt left is in bcrypt."""
    limits(merchant, attempts=3, minutes=10)
    factories.make_pin(store, pin="4821", name="Anna")
    for guess in ("0000", "0001"):
        with pytest.raises(StaffPinInvalid):
            pin_verify(store=store, pin=guess, now=NOW)
    meanwhile = []
    real_checkpw = bcrypt.checkpw

    def checkpw_with_a_guess_meanwhile(password, hashed):
        if password == b"4821":  # another till guesses while the right PIN, the third attempt, is checked
            meanwhile.append(_answer(store, "0002", NOW))
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw_with_a_guess_meanwhile)

    assert _answer(store, "4821", NOW) == "Anna"
    assert meanwhile == ["STAFF_PIN_LOCKED"]
    guard = StorePinGuard.objects.get(store=store)
    assert (guard.failed_attempts, guard.locked_until) == (2, None)
    assert _answer(store, "0002", NOW) == "STAFF_PIN_LOCKED"  # now it is the third wrong PIN


def test_failures_leave_the_window_one_by_one(store, merchant):
    """A sliding window: a failure counts for the lockout minutes after it, then no more."""
    limits(merchant, attempts=3, minutes=10)
    factories.make_pin(store, pin="4821")
    for at in (NOW, NOW + timedelta(minutes=6)):
        with pytest.raises(StaffPinInvalid):
            pin_verify(store=store, pin="0000", now=at)

    with pytest.raises(StaffPinInvalid) as error:  # the first failure has left the window, the second not
        pin_verify(store=store, pin="0000", now=NOW + timedelta(minutes=11))
    assert error.value.details == {"attempts_left": 1}
    with pytest.raises(StaffPinLocked) as error:
        pin_verify(store=store, pin="0000", now=NOW + timedelta(minutes=12))
    assert error.value.details == {"locked_until": NOW + timedelta(minutes=22)}


def test_lockout_is_per_store(store, station, merchant):
    limits(merchant, attempts=2, minutes=10)
    factories.make_pin(store, pin="4821")
    factories.make_pin(station, pin="4821")
    for _ in range(2):
        with pytest.raises((StaffPinInvalid, StaffPinLocked)):
            pin_verify(store=store, pin="0000", now=NOW)
    with pytest.raises(StaffPinLocked):
        pin_verify(store=store, pin="4821", now=NOW)
    assert pin_verify(store=station, pin="4821", now=NOW)


def test_a_named_pin_locks_and_stays_locked_when_the_store_is_unlocked_for_another_pin(store, merchant, owner):
    """Wrong PINs naming Anna count for the store and for her PIN; unlocking Ben frees the till, not her PIN."""
    limits(merchant, attempts=3, minutes=10)
    anna = factories.make_pin(store, pin="4821", name="Anna")
    ben = factories.make_pin(store, pin="1357", name="Ben")
    for _ in range(2):
        with pytest.raises(StaffPinInvalid):
            pin_verify(store=store, pin="0000", staff_pin_id=anna.pk, now=NOW)
    pin_verify(store=store, pin="1357", now=NOW)  # Ben works, and resets nothing

    with pytest.raises(StaffPinLocked) as error:
        pin_verify(store=store, pin="1234", staff_pin_id=anna.pk, now=NOW)
    assert error.value.details["locked_until"] == NOW + timedelta(minutes=10)
    anna.refresh_from_db()
    assert (anna.failed_attempts, anna.locked_until) == (3, NOW + timedelta(minutes=10))
    with pytest.raises(StaffPinLocked):
        pin_verify(store=store, pin="1357", now=NOW + timedelta(minutes=5))  # the store is locked: Ben too

    pin_unlock(actor=owner, staff_pin=ben)

    with pytest.raises(StaffPinLocked):
        pin_verify(store=store, pin="4821", now=NOW + timedelta(minutes=5))  # Anna's right PIN
    assert pin_verify(store=store, pin="1357", now=NOW + timedelta(minutes=5))  # Ben works again


def test_someone_elses_pin_does_not_pass_for_the_named_pin(store):
    anna = factories.make_pin(store, pin="4821", name="Anna")
    factories.make_pin(store, pin="1357", name="Ben")
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="1357", staff_pin_id=anna.pk, now=NOW)
    assert pin_verify(store=store, pin="4821", staff_pin_id=anna.pk, now=NOW).pk == anna.pk


def test_a_named_pin_starts_afresh_once_its_lockout_has_passed(store, merchant):
    limits(merchant, attempts=2, minutes=10)
    anna = factories.make_pin(store, pin="4821", name="Anna")
    for _ in range(2):
        with pytest.raises((StaffPinInvalid, StaffPinLocked)):
            pin_verify(store=store, pin="0000", staff_pin_id=anna.pk, now=NOW)

    with pytest.raises(StaffPinInvalid):  # one typo after the lockout is one typo, not a new lock
        pin_verify(store=store, pin="0000", staff_pin_id=anna.pk, now=NOW + timedelta(minutes=11))
    assert pin_verify(store=store, pin="4821", staff_pin_id=anna.pk, now=NOW + timedelta(minutes=11)).pk == anna.pk


def test_unlock_clears_the_pin_and_the_store(store, merchant, owner):
    limits(merchant, attempts=2, minutes=30)
    anna = factories.make_pin(store, pin="4821")
    for _ in range(2):
        with pytest.raises((StaffPinInvalid, StaffPinLocked)):
            pin_verify(store=store, pin="0000", staff_pin_id=anna.pk, now=NOW)
    with pytest.raises(StaffPinLocked):
        pin_verify(store=store, pin="4821", now=NOW)

    unlocked = pin_unlock(actor=owner, staff_pin=anna)

    assert (unlocked.failed_attempts, unlocked.locked_until) == (0, None)
    guard = StorePinGuard.objects.get(store=store)
    assert (guard.failed_attempts, guard.locked_until) == (0, None)
    assert pin_verify(store=store, pin="4821", now=NOW).pk == anna.pk
    with pytest.raises(StaffPinInvalid) as error:  # the failures before the unlock are forgiven
        pin_verify(store=store, pin="0000", now=NOW)
    assert error.value.details == {"attempts_left": 1}


def test_unlock_clears_a_lock_made_by_guesses_between_known_pins(store, merchant, owner):
    limits(merchant, attempts=3, minutes=30)
    ben = factories.make_pin(store, pin="1357", name="Ben")
    for guess in ("0000", "0001", "1357", "0002"):
        _answer(store, guess, NOW)
    assert _answer(store, "1357", NOW) == "STAFF_PIN_LOCKED"

    pin_unlock(actor=owner, staff_pin=ben)

    assert _answer(store, "1357", NOW) == "Ben"
    assert _answer(store, "0003", NOW) == "STAFF_PIN_INVALID"
    assert StorePinGuard.objects.get(store=store).failed_attempts == 1


def test_merchant_settings_get_or_create_never_duplicates(merchant):
    first = merchant_settings_get(merchant=merchant)
    second = merchant_settings_get(merchant=merchant)
    assert first.pk == second.pk
    assert MerchantSettings.objects.filter(merchant=merchant).count() == 1
    assert first.self_enrollment_open is True
    assert first.pin_max_failed_attempts is None  # empty: the platform default applies


# --- the lookup key and its rotation ---------------------------------------------------------------


def _digest_under(key, store, pin):
    return hmac.new(key.encode(), f"{store.pk}:{pin}".encode(), hashlib.sha256).hexdigest()


def test_a_pin_made_under_an_old_lookup_key_still_works_and_is_rekeyed_on_its_next_success(store, settings):
    # given a PIN made under key A
    settings.LOYALTY_PIN_LOOKUP_KEY, settings.LOYALTY_PIN_LOOKUP_KEYS_OLD = "key-a", []
    anna = factories.make_pin(store, pin="4821", name="Anna")
    assert anna.lookup_digest == _digest_under("key-a", store, "4821")

    # when the key becomes B, with A kept as an old key
    settings.LOYALTY_PIN_LOOKUP_KEY, settings.LOYALTY_PIN_LOOKUP_KEYS_OLD = "key-b", ["key-a"]

    # then a wrong PIN still fails and re-keys nothing
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="0000", now=NOW)
    assert StaffPin.objects.get(pk=anna.pk).lookup_digest == _digest_under("key-a", store, "4821")
    # and the right PIN works and its row now carries the digest under B
    assert pin_verify(store=store, pin="4821", now=NOW).pk == anna.pk
    assert StaffPin.objects.get(pk=anna.pk).lookup_digest == _digest_under("key-b", store, "4821")

    # and once A is dropped, the PIN still works
    settings.LOYALTY_PIN_LOOKUP_KEYS_OLD = []
    assert pin_verify(store=store, pin="4821", now=NOW).pk == anna.pk
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="0000", now=NOW)


def test_a_pin_not_yet_rekeyed_is_found_only_while_its_key_is_listed(store, settings):
    settings.LOYALTY_PIN_LOOKUP_KEY, settings.LOYALTY_PIN_LOOKUP_KEYS_OLD = "key-a", []
    factories.make_pin(store, pin="4821")

    settings.LOYALTY_PIN_LOOKUP_KEY = "key-b"

    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="4821", now=NOW)


def test_a_new_pin_cannot_take_the_value_of_a_pin_not_yet_rekeyed(store, owner, settings):
    settings.LOYALTY_PIN_LOOKUP_KEY, settings.LOYALTY_PIN_LOOKUP_KEYS_OLD = "key-a", []
    anna = factories.make_pin(store, pin="4821", name="Anna")
    ben = factories.make_pin(store, pin="1357", name="Ben")
    settings.LOYALTY_PIN_LOOKUP_KEY, settings.LOYALTY_PIN_LOOKUP_KEYS_OLD = "key-b", ["key-a"]

    with pytest.raises(ValidationFailed):
        pin_create(actor=owner, store=store, name="Cleo", pin="4821")
    with pytest.raises(ValidationFailed):
        pin_update(actor=owner, staff_pin=ben, pin="4821")
    assert StaffPin.objects.count() == 2
    assert pin_verify(store=store, pin="4821", now=NOW).pk == anna.pk


def test_a_secret_key_rotation_leaves_the_pins_working(store, settings):
    factories.make_pin(store, pin="4821", name="Anna")

    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789-abcdefghijklmnop"

    assert pin_verify(store=store, pin="4821", now=NOW).name == "Anna"


def test_a_named_right_pin_leaves_its_count_as_it_was(store, merchant):
    limits(merchant, attempts=3, minutes=10)
    anna = factories.make_pin(store, pin="4821", name="Anna")
    with pytest.raises(StaffPinInvalid):
        pin_verify(store=store, pin="0000", staff_pin_id=anna.pk, now=NOW)

    assert pin_verify(store=store, pin="4821", staff_pin_id=anna.pk, now=NOW).pk == anna.pk

    anna.refresh_from_db()
    assert (anna.failed_attempts, anna.locked_until, anna.last_used_at) == (1, None, NOW)
    assert StorePinGuard.objects.get(store=store).failed_attempts == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_pin_bookkeeping_commits_without_waiting_for_the_disk_and_nothing_else_does(store):
    """Steps 1 and 3 of a check set synchronous_commit off for their own transaction, with the guard's lock."""
    from django.db import connection, transaction

    from staff.services.pins import _guard_locked

    def synchronous_commit():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    factories.make_pin(store, "2580")
    pin_verify(store=store, pin="2580")  # the store's guard row exists from now on
    with transaction.atomic():
        _guard_locked(store)
        assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"  # local to that transaction: the next one (the operation's) waits
    with transaction.atomic():
        StorePinGuard.objects.filter(store=store).update(failed_attempts=0)
        assert synchronous_commit() == "on"
