"""API tokens: who gets one for which store, how keys are kept, when they stop working."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty.exceptions import PermissionDenied
from staff.models import ApiToken, Role
from staff.services.tokens import (
    InvalidCredentials,
    TokenState,
    key_digest,
    password_fingerprint,
    token_authenticate,
    token_issue,
    token_revoke,
    token_state,
    tokens_with_access,
)
from tests import factories
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Login checks are what is tested here, not the password hash's cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def station(merchant):
    return factories.make_store(merchant, code="alpha-station")


def _lets_in_by_the_orm(key: str, now=None) -> bool:
    """The admin's reading of the same rules: ``token_state`` over ``tokens_with_access``."""
    token = tokens_with_access().filter(key_digest=key_digest(key)).first()
    return token is not None and token_state(token, now=now or timezone.now()) == TokenState.ACTIVE


@pytest.fixture(params=["statement", "orm"])
def lets_in(request):
    """Does ``key`` let its holder in? By the till's one SQL statement, and by the admin's ORM reading.

    The tests of every path that stops a token run against both, so the two cannot drift apart.
    """
    if request.param == "statement":
        return lambda key, now=None: token_authenticate(key=key, now=now) is not None
    return _lets_in_by_the_orm


def issue(user, store=None, password=PASSWORD):
    return token_issue(username=user.username, password=password, store_code=store.code if store else None)


def test_owner_gets_a_token_for_any_store_of_the_merchant(merchant, store, station):
    owner = factories.make_user("owner", merchant)
    for place in (store, station):
        issued = issue(owner, place)
        assert (issued.token.store, issued.role, issued.token.membership) == (place, "owner", owner.membership)
        assert token_authenticate(key=issued.key) == issued.token


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_managers_and_staff_get_tokens_for_their_stores_only(merchant, store, station, role):
    user = factories.make_user(role, merchant, stores=[store])
    assert issue(user, store).role == role

    with pytest.raises(PermissionDenied):
        issue(user, station)
    assert ApiToken.objects.filter(store=station).count() == 0


def test_no_token_for_another_merchants_store_or_an_unknown_one(merchant, store, other_store):
    owner = factories.make_user("owner", merchant)
    for code in (other_store.code, "no-such-store"):
        with pytest.raises(PermissionDenied):
            token_issue(username=owner.username, password=PASSWORD, store_code=code)
    assert not ApiToken.objects.exists()


def test_no_token_for_a_deactivated_membership_or_store(merchant, store):
    owner = factories.make_user("owner", merchant)
    store.is_active = False
    store.save()
    with pytest.raises(PermissionDenied):
        issue(owner, store)
    store.is_active = True
    store.save()
    owner.membership.is_active = False
    owner.membership.save()
    with pytest.raises(PermissionDenied):
        issue(owner, store)
    assert not ApiToken.objects.exists()


def test_a_user_without_membership_gets_no_store_token(store):
    loner = factories.make_user()
    with pytest.raises(PermissionDenied):
        issue(loner, store)
    with pytest.raises(PermissionDenied):
        issue(loner)  # only platform administrators may omit the store
    assert not ApiToken.objects.exists()


def test_unknown_user_and_wrong_password_get_the_same_error(merchant, store):
    owner = factories.make_user("owner", merchant)
    with pytest.raises(InvalidCredentials) as wrong_password:
        issue(owner, store, password="not-the-password")
    with pytest.raises(InvalidCredentials) as unknown_user:
        token_issue(username="nobody-here", password=PASSWORD, store_code=store.code)
    owner.is_active = False
    owner.save()
    with pytest.raises(InvalidCredentials) as inactive_user:
        issue(owner, store)

    assert wrong_password.value.as_dict() == unknown_user.value.as_dict() == inactive_user.value.as_dict()
    assert wrong_password.value.status == 401
    assert not ApiToken.objects.exists()


def test_only_the_sha256_of_the_key_is_stored(merchant, store, db):
    owner = factories.make_user("owner", merchant)
    issued = issue(owner, store)

    assert len(issued.key) >= 43  # 256 random bits
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token.key_digest == hashlib.sha256(issued.key.encode()).hexdigest()
    assert token.key_prefix == issued.key[:8]
    everything = StringIO()
    call_command("dumpdata", stdout=everything)
    assert issued.key not in everything.getvalue()
    assert issued.key not in str(token) + repr(token)


def test_keys_are_distinct(merchant, store):
    owner = factories.make_user("owner", merchant)
    keys = {issue(owner, store).key for _ in range(5)}
    assert len(keys) == 5


def test_a_wrong_key_authenticates_nothing(merchant, store):
    owner = factories.make_user("owner", merchant)
    issued = issue(owner, store)
    assert token_authenticate(key=issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")) is None
    assert token_authenticate(key="") is None


def test_tokens_expire(merchant, store, settings, lets_in):
    settings.API_TOKEN_TTL_HOURS = 1
    owner = factories.make_user("owner", merchant)
    issued = issue(owner, store)
    issued_at = issued.token.created_at

    assert lets_in(issued.key, now=issued_at + timedelta(minutes=59))
    assert not lets_in(issued.key, now=issued_at + timedelta(minutes=61))


def test_ttl_zero_means_no_expiry(merchant, store, settings, lets_in):
    settings.API_TOKEN_TTL_HOURS = 0
    owner = factories.make_user("owner", merchant)
    issued = issue(owner, store)
    assert issued.token.expires_at is None
    assert lets_in(issued.key, now=timezone.now() + timedelta(days=3650))


def test_revoked_token_stops_working(merchant, store, lets_in):
    owner = factories.make_user("owner", merchant)
    issued = issue(owner, store)
    token_revoke(token=issued.token)
    assert not lets_in(issued.key)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None


@pytest.mark.parametrize(
    "take_away",
    [
        lambda user, store: type(user).objects.filter(pk=user.pk).update(is_active=False),
        lambda user, store: type(user.membership).objects.filter(pk=user.membership.pk).update(is_active=False),
        lambda user, store: user.membership.stores.remove(store),
        lambda user, store: type(store).objects.filter(pk=store.pk).update(is_active=False),
        lambda user, store: type(store.merchant).objects.filter(pk=store.merchant_id).update(is_active=False),
        lambda user, store: type(user.membership).objects.filter(pk=user.membership.pk).delete(),
        lambda user, store: type(user).objects.filter(pk=user.pk).delete(),
        lambda user, store: ApiToken.objects.filter(user=user).update(expires_at=timezone.now()),
        lambda user, store: ApiToken.objects.filter(user=user).update(revoked_at=timezone.now()),
    ],
    ids=[
        "user deactivated", "membership deactivated", "store removed from membership", "store deactivated",
        "merchant deactivated", "membership deleted", "user deleted", "expired", "revoked",
    ],
)
def test_losing_access_stops_the_token_at_once(merchant, store, take_away, lets_in):
    # Written straight to the tables, as a shell or another process would: nothing is told, yet the next check refuses.
    manager = factories.make_user("manager", merchant, stores=[store])
    issued = issue(manager, store)
    assert lets_in(issued.key)

    take_away(manager, store)

    assert not lets_in(issued.key)


def test_an_owner_made_staff_keeps_only_the_stores_assigned(merchant, store, station, lets_in):
    owner = factories.make_user("owner", merchant)
    here, there = issue(owner, store), issue(owner, station)
    type(owner.membership).objects.filter(pk=owner.membership.pk).update(role=Role.STAFF)
    owner.membership.stores.set([store])

    assert lets_in(here.key) and not lets_in(there.key)


def test_a_store_moved_to_another_merchant_stops_the_token(merchant, store, other_store, lets_in):
    owner = factories.make_user("owner", merchant)
    issued = issue(owner, store)
    type(store).objects.filter(pk=store.pk).update(merchant=other_store.merchant)
    assert not lets_in(issued.key)


def test_platform_admin_gets_a_token_without_store(db, lets_in):
    admin = factories.make_admin()
    issued = issue(admin)
    assert (issued.token.store, issued.token.membership, issued.role) == (None, None, None)
    assert token_authenticate(key=issued.key) == issued.token
    assert lets_in(issued.key)

    type(admin).objects.filter(pk=admin.pk).update(is_superuser=False)
    assert not lets_in(issued.key)


def test_the_authenticated_token_carries_what_the_till_reads(merchant, store):
    manager = factories.make_user("manager", merchant, stores=[store])
    issued = issue(manager, store)
    token = token_authenticate(key=issued.key)
    assert (token.pk, token.store_id, token.membership.role, token.user.pk) == (
        issued.token.pk, store.pk, "manager", manager.pk,
    )
    assert (token.store.merchant.pk, token.store.zone.key, token.user.username) == (
        merchant.pk, store.timezone, manager.username,
    )
    assert token.user.is_active and not token.user.is_superuser and token.store.merchant.is_active


def test_last_use_is_recorded_once_a_minute(merchant, store):
    owner = factories.make_user("owner", merchant)
    issued = issue(owner, store)
    start = timezone.now()

    token_authenticate(key=issued.key, now=start)
    token_authenticate(key=issued.key, now=start + timedelta(seconds=30))
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == start
    token_authenticate(key=issued.key, now=start + timedelta(seconds=61))
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == start + timedelta(seconds=61)


def _set_password_and_save(user):
    user.set_password("a-brand-new-password-81")
    user.save()


def test_a_changed_password_stops_every_token_of_the_user(merchant, store, lets_in):
    # given a manager with two live tills
    manager = factories.make_user("manager", merchant, stores=[store])
    first, second = issue(manager, store), issue(manager, store)
    assert lets_in(first.key)

    # when the password changes (here in a shell: set_password and save, no service, no signal)
    _set_password_and_save(manager)

    # then neither till is let in any more; a token issued with the new password is
    assert not lets_in(first.key)
    assert not lets_in(second.key)
    fresh = issue(manager, store, password="a-brand-new-password-81")
    assert lets_in(fresh.key)


def test_saving_the_user_without_a_new_password_keeps_the_tokens(merchant, store):
    manager = factories.make_user("manager", merchant, stores=[store])
    issued = issue(manager, store)
    manager.first_name, manager.last_login = "Robin", timezone.now()
    manager.save()
    assert token_authenticate(key=issued.key) == issued.token


def test_a_token_without_a_fingerprint_is_refused(merchant, store):
    # Tokens issued before fingerprints existed cannot tell whether the password changed since.
    manager = factories.make_user("manager", merchant, stores=[store])
    issued = issue(manager, store)
    ApiToken.objects.filter(pk=issued.token.pk).update(password_fingerprint="")
    assert token_authenticate(key=issued.key) is None


def test_the_fingerprint_is_keyed_and_no_copy_of_the_password_hash(merchant, store, settings):
    manager = factories.make_user("manager", merchant, stores=[store])
    token = issue(manager, store).token
    assert token.password_fingerprint and token.password_fingerprint not in manager.password
    assert hashlib.sha256(manager.password.encode()).hexdigest() != token.password_fingerprint
    settings.SECRET_KEY = "another-secret-key-for-this-test-0123456789abcdef"
    assert password_fingerprint(manager.password) != token.password_fingerprint


def test_rotating_secret_key_keeps_tokens_while_the_old_key_is_a_fallback(merchant, store, settings):
    manager = factories.make_user("manager", merchant, stores=[store])
    issued = issue(manager, store)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "the-new-secret-key-of-this-test-0123456789abcdef"
    settings.SECRET_KEY_FALLBACKS = [old_key]

    assert token_authenticate(key=issued.key) == issued.token
    # the once-a-minute write moved the fingerprint to the new key: dropping the old one signs nobody out
    settings.SECRET_KEY_FALLBACKS = []
    assert token_authenticate(key=issued.key, now=timezone.now() + timedelta(minutes=2)) == issued.token
    settings.SECRET_KEY = "yet-another-key-not-the-one-it-was-made-under-0123"
    assert token_authenticate(key=issued.key, now=timezone.now() + timedelta(minutes=4)) is None


def test_authentication_is_one_query(merchant, store, django_assert_num_queries):
    # The till's hot path: token, user (password hash), membership, store, merchant and assignment at once.
    manager = factories.make_user("manager", merchant, stores=[store])
    issued = issue(manager, store)
    token_authenticate(key=issued.key)  # records the last use (the once-a-minute write)
    with django_assert_num_queries(1):
        assert token_authenticate(key=issued.key) is not None
