"""API tokens: issue, authenticate, revoke. Only a SHA-256 of each key is stored.

A token holds a keyed fingerprint of its user's password hash at issue time;
authentication compares it with the password hash read in the same query, so
a password changed by any path (a form, the admin, ``set_password`` in a
shell) stops the user's tokens at their next request, without a signal.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import models, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import LoyaltyError, PermissionDenied
from loyalty.models import Store
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


def token_authenticate(*, key: str, now: datetime | None = None) -> ApiToken | None:
    """The live token for ``key``, or None: revoked, expired, password changed, inactive user or membership.

    One query on every API request; once a minute a second one records the last use.
    """
    now = now or timezone.now()
    token = tokens_with_access().filter(key_digest=key_digest(key), revoked_at__isnull=True).first()
    if token is None or token_state(token, now=now) != TokenState.ACTIVE:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
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
