"""API tokens: issue, authenticate, revoke. Only a SHA-256 of each key is stored.

A token holds a keyed fingerprint of its user's password hash at issue time;
authentication compares it with the password hash read in the same query, so
a password changed by any path (a form, the admin, ``set_password`` in a
shell) stops the user's tokens at their next request, without a signal.

Authentication runs on every till request, so it is one hand-written
statement (:func:`token_live_get`) that asks the database every condition
:func:`token_state` checks in Python — revoked, expired, user, membership,
store and merchant active, the store assigned unless owner — and builds only
the rows the request goes on to use. Nothing about a token is cached: every
request asks the database again, so every path that stops a token (revoke,
logout, expiry, a deactivated user, membership, store or merchant, a store
taken away, a role changed, a password changed, a row deleted) stops it at
its very next request, whoever made the change and however (a service, the
admin, SQL). ``tests/staff/services/test_tokens.py`` runs each of those
paths against this statement and against :func:`token_state` over
:func:`tokens_with_access` (the admin's ORM reading of the same rules), so
the two cannot drift apart. (Issue #18 weighed a shared cache of the check:
one indexed statement costs ~0.3 ms, and a cache would make every stopping
path an invalidation to get right; the statement alone met the target.)
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import LoyaltyError, PermissionDenied
from loyalty.models import Merchant, Store
from loyalty.raw_sql import row_instance
from loyalty_site.db import prepared_fetch_one
from staff.models import ApiToken, Membership, Role

# Writing last_used_at on every request would add a write to every till
# operation; once a minute is precise enough to spot unused tokens.
LAST_USED_RESOLUTION = timedelta(minutes=1)
PASSWORD_FINGERPRINT_SALT = "staff.ApiToken.password_fingerprint"


class TokenState(models.TextChoices):
    ACTIVE = "active", _("active")
    REVOKED = "revoked", _("revoked")
    EXPIRED = "expired", _("expired")
    PASSWORD_CHANGED = "password_changed", _("password changed")
    NO_ACCESS = "no_access", _("access withdrawn")  # user, membership, store or merchant off; store taken away


class InvalidCredentials(LoyaltyError):
    status = 401
    code = "NOT_AUTHENTICATED"
    message = _("Invalid username or password.")


@dataclass(frozen=True)
class IssuedToken:
    key: str  # shown once, to the caller that asked for it
    token: ApiToken
    role: str | None


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def password_fingerprint(password_hash: str, *, secret: str | None = None) -> str:
    """A keyed HMAC of a password hash: it changes with the password and tells nothing about it."""
    return salted_hmac(PASSWORD_FINGERPRINT_SALT, password_hash, secret=secret, algorithm="sha256").hexdigest()


def _password_unchanged(token: ApiToken) -> bool:
    # The retired keys of SECRET_KEY_FALLBACKS count too, so rotating SECRET_KEY signs no till out.
    return any(
        constant_time_compare(token.password_fingerprint, password_fingerprint(token.user.password, secret=secret))
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    )


def membership_covers_store(membership: Membership, store: Store, *, assigned: bool | None = None) -> bool:
    """Owners cover every active store of their (active) merchant; others the stores they are assigned to.

    ``assigned`` is the answer to "is the store among the membership's stores?" when the
    caller already read it (token authentication does, in its one query).
    """
    if not membership.is_active or membership.merchant_id != store.merchant_id:
        return False
    if not store.is_active or not store.merchant.is_active:  # a deactivated merchant's tills stop too
        return False
    if membership.role == Role.OWNER:
        return True
    if assigned is None:
        assigned = membership.stores.filter(pk=store.pk).exists()
    return assigned


@transaction.atomic
def token_issue(*, username: str, password: str, store_code: str | None, user_agent: str = "") -> IssuedToken:
    """Check credentials and the user's right to the store, then create a token bound to it.

    Wrong credentials raise the same ``InvalidCredentials`` whether or not the
    user exists. A user without a membership covering the store gets
    ``PermissionDenied`` and no token. Only platform administrators may omit
    ``store_code`` (a token for the admin API).
    """
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials()
    membership = Membership.objects.select_related("merchant").filter(user=user).first()
    store = None
    if store_code:
        store = Store.objects.select_related("merchant").filter(code=store_code).first()
        if store is None or membership is None or not membership_covers_store(membership, store):
            raise PermissionDenied(_("Your account has no access to this store."))
    elif not (user.is_superuser and membership is None):
        raise PermissionDenied(_("store_code is required."))
    key = secrets.token_urlsafe(32)
    ttl = settings.API_TOKEN_TTL_HOURS
    token = ApiToken.objects.create(
        user=user,
        membership=membership if store else None,
        store=store,
        key_digest=key_digest(key),
        key_prefix=key[:8],
        password_fingerprint=password_fingerprint(user.password),
        expires_at=timezone.now() + timedelta(hours=ttl) if ttl else None,
        user_agent=user_agent[:256],
    )
    return IssuedToken(key=key, token=token, role=membership.role if store else None)


def tokens_with_access(tokens: QuerySet | None = None) -> QuerySet:
    """``tokens`` with everything :func:`token_state` reads, fetched in the same query.

    The user (its password hash), membership, store and merchant are joined, and
    whether the store is among the membership's stores is a subquery.
    """
    tokens = ApiToken.objects.all() if tokens is None else tokens
    return tokens.select_related("user", "membership", "store__merchant").annotate(
        store_assigned=Exists(
            Membership.stores.through.objects.filter(
                membership_id=OuterRef("membership_id"), store_id=OuterRef("store_id")
            )
        )
    )


def token_state(token: ApiToken, *, now: datetime) -> TokenState:
    """Whether ``token`` (read through :func:`tokens_with_access`) lets its holder in now, and if not why."""
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at is not None and token.expires_at <= now:
        return TokenState.EXPIRED
    if not token.user.is_active:
        return TokenState.NO_ACCESS
    if not _password_unchanged(token):
        return TokenState.PASSWORD_CHANGED
    if token.store is not None:
        if token.membership is None or not membership_covers_store(
            token.membership, token.store, assigned=token.store_assigned
        ):
            return TokenState.NO_ACCESS
    elif not token.user.is_superuser:
        return TokenState.NO_ACCESS
    return TokenState.ACTIVE


# What the request goes on to read of each row: the rest is deferred (loaded on first access, if ever).
_USER_COLUMNS = ("id", "password", "username", "is_superuser", "is_staff")
_MEMBERSHIP_COLUMNS = ("id", "user_id", "merchant_id", "role")
_STORE_COLUMNS = ("id", "merchant_id", "code", "name", "timezone")
_MERCHANT_COLUMNS = ("id", "name", "slug")
_live_token_sql: str | None = None


def _live_token_statement() -> str:
    """The statement of :func:`token_live_get`, made once per process from the models' tables."""
    global _live_token_sql
    if _live_token_sql is None:
        user_table = get_user_model()._meta.db_table
        assignments = Membership.stores.through._meta.db_table
        columns = ", ".join(
            [f"u.{name}" for name in _USER_COLUMNS]
            + [f"m.{name}" for name in _MEMBERSHIP_COLUMNS]
            + [f"s.{name}" for name in _STORE_COLUMNS]
            + [f"me.{name}" for name in _MERCHANT_COLUMNS]
        )
        _live_token_sql = f"""
            SELECT t.id, t.password_fingerprint,
                   CASE WHEN t.last_used_at IS NULL OR t.last_used_at <= %s THEN 1 ELSE 0 END,
                   {columns}
            FROM {ApiToken._meta.db_table} t
            JOIN {user_table} u ON u.id = t.user_id
            LEFT JOIN {Membership._meta.db_table} m ON m.id = t.membership_id
            LEFT JOIN {Store._meta.db_table} s ON s.id = t.store_id
            LEFT JOIN {Merchant._meta.db_table} me ON me.id = s.merchant_id
            WHERE t.key_digest = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %s)
              AND u.is_active
              AND ((t.store_id IS NULL AND u.is_superuser)
                OR (m.is_active AND m.merchant_id = s.merchant_id AND s.is_active AND me.is_active
                  AND (m.role = %s OR EXISTS (
                    SELECT 1 FROM {assignments} a WHERE a.membership_id = m.id AND a.store_id = s.id))))
        """
    return _live_token_sql


def token_live_get(*, digest: str, now: datetime) -> tuple[ApiToken, bool] | None:
    """The token of ``digest`` if :func:`token_state` would call it active now (bar the password), else None.

    One statement, every condition in SQL. Returns the token with its user, membership, store and
    merchant attached (only the columns the till reads), and whether its last use is older than
    ``LAST_USED_RESOLUTION``. The password fingerprint is the caller's to compare (it is keyed).
    """
    adapt = connection.ops.adapt_datetimefield_value
    row = prepared_fetch_one(
        _live_token_statement(), [adapt(now - LAST_USED_RESOLUTION), digest, adapt(now), Role.OWNER], binary=True
    )
    if row is None:
        return None
    token_id, fingerprint, touch = row[:3]
    values = iter(row[3:])
    user_values, membership_values, store_values, merchant_values = (
        [next(values) for _ in columns]
        for columns in (_USER_COLUMNS, _MEMBERSHIP_COLUMNS, _STORE_COLUMNS, _MERCHANT_COLUMNS)
    )
    user = row_instance(get_user_model(), _USER_COLUMNS, user_values, is_active=True)
    token = row_instance(
        ApiToken, ("id", "key_digest", "password_fingerprint"), (token_id, digest, fingerprint), revoked_at=None
    )
    token.user = user
    if store_values[0] is None:  # a platform administrator's token
        token.store, token.membership = None, None
    else:
        merchant = row_instance(Merchant, _MERCHANT_COLUMNS, merchant_values, is_active=True)
        store = row_instance(Store, _STORE_COLUMNS, store_values, is_active=True)
        membership = row_instance(Membership, _MEMBERSHIP_COLUMNS, membership_values, is_active=True)
        store.merchant = membership.merchant = merchant
        membership.user = user
        token.store, token.membership = store, membership
    token.store_assigned = True  # the statement checked it (owners need none)
    return token, bool(touch)


def token_authenticate(*, key: str, now: datetime | None = None) -> ApiToken | None:
    """The live token for ``key``, or None: revoked, expired, password changed, no access any more.

    One statement on every API request (:func:`token_live_get`); once a minute a second one records
    the last use.
    """
    now = now or timezone.now()
    found = token_live_get(digest=key_digest(key), now=now)
    if found is None:
        return None
    token, touch = found
    if not _password_unchanged(token):
        return None
    if touch:
        updates = {"last_used_at": now}
        current = password_fingerprint(token.user.password)
        if token.password_fingerprint != current:  # made under a key now in SECRET_KEY_FALLBACKS
            updates["password_fingerprint"] = current
        ApiToken.objects.filter(pk=token.pk).update(**updates)
        token.last_used_at = now
    return token


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def tokens_revoke_for_user(*, user) -> int:
    """Revoke every live token of ``user`` (all stores, the admin API's too); returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
