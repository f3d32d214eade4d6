"""API tokens: issue, authenticate, revoke. Only a SHA-256 of each key is stored."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import LoyaltyError, PermissionDenied
from loyalty.models import Store
from staff.models import ApiToken, Membership, Role

# Writing last_used_at on every request would add a write to every till
# operation; once a minute is precise enough to spot unused tokens.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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
        expires_at=timezone.now() + timedelta(hours=ttl) if ttl else None,
        user_agent=user_agent[:256],
    )
    return IssuedToken(key=key, token=token, role=membership.role if store else None)


def token_authenticate(*, key: str, now: datetime | None = None) -> ApiToken | None:
    """The live token for ``key``, or None: revoked, expired, inactive user or membership."""
    now = now or timezone.now()
    # One query on every API request: the token, its user, membership, store and merchant,
    # and whether the store is among the membership's stores.
    token = (
        ApiToken.objects.select_related("user", "membership", "store__merchant")
        .annotate(
            store_assigned=Exists(
                Membership.stores.through.objects.filter(
                    membership_id=OuterRef("membership_id"), store_id=OuterRef("store_id")
                )
            )
        )
        .filter(key_digest=key_digest(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.store is not None:
        if token.membership is None or not membership_covers_store(
            token.membership, token.store, assigned=token.store_assigned
        ):
            return None
    elif not token.user.is_superuser:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
