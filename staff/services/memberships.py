"""Memberships: invite a user to a merchant with a role and stores, change it, keep access in step.

Django permissions follow the role through two groups created by the
``admin_groups`` migration — "Merchant owners" and "Merchant managers" — and
:func:`membership_groups_sync`, which every write here calls. Staff (till)
accounts get no group and ``is_staff=False``: they cannot enter the back
office. Narrowing a membership's stores, or deactivating it, revokes the
scanner-app tokens of the stores it no longer covers at once;
:func:`membership_sign_out_everywhere` revokes them all and ends the user's
back-office sessions.
"""

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.domain.actors import Actor
from loyalty.exceptions import PermissionDenied, ValidationFailed
from loyalty.models import Store
from staff.models import ApiToken, Membership, Role
from staff.services.tokens import tokens_revoke_for_user

OWNERS_GROUP = "Merchant owners"
MANAGERS_GROUP = "Merchant managers"
ROLE_GROUPS = {Role.OWNER: OWNERS_GROUP, Role.MANAGER: MANAGERS_GROUP}


@dataclass(frozen=True)
class MembershipChanged:
    membership: Membership
    tokens_revoked: int


@dataclass(frozen=True)
class SignedOutEverywhere:
    membership: Membership
    tokens_revoked: int
    sessions_ended: int


def membership_groups_sync(*, membership: Membership) -> None:
    """Put the user in the group of their role (and no other role group); set ``is_staff`` to match."""
    user = membership.user
    role_groups = Group.objects.filter(name__in=ROLE_GROUPS.values())
    user.groups.remove(*role_groups)
    group_name = ROLE_GROUPS.get(membership.role) if membership.is_active else None
    if group_name:
        user.groups.add(Group.objects.get(name=group_name))
    is_staff = group_name is not None or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


def _allowed_roles(actor: Actor) -> set[str]:
    if actor.role == Role.OWNER:
        return {Role.MANAGER, Role.STAFF}  # owners are named by the platform
    if actor.role is None and actor.user is not None and actor.user.is_superuser:
        return {Role.OWNER, Role.MANAGER, Role.STAFF}
    return set()


def _check_may_change(actor: Actor, membership: Membership, role: str | None = None) -> None:
    if membership.merchant_id != actor.merchant.pk:
        raise PermissionDenied(_("This membership is not of your business."))
    allowed = _allowed_roles(actor)
    if membership.role not in allowed or (role is not None and role not in allowed):
        raise PermissionDenied(_("You cannot change this membership."))


def _checked_stores(actor: Actor, stores) -> list[Store]:
    stores = list(stores)
    if any(store.merchant_id != actor.merchant.pk for store in stores):
        raise ValidationFailed(details={"stores": [str(_("Choose stores of your own business."))]})
    return stores


def _revoke_uncovered_tokens(membership: Membership) -> int:
    tokens = ApiToken.objects.filter(membership=membership, revoked_at__isnull=True)
    if membership.is_active and membership.role == Role.OWNER:
        return 0
    if membership.is_active:
        tokens = tokens.exclude(store__in=membership.stores.all())
    return tokens.update(revoked_at=timezone.now())


def _checked_language(language: str) -> str:
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed(details={"language": [str(_("This is not one of the allowed values."))]})
    return language


@transaction.atomic
def membership_invite(
    *, actor: Actor, username: str, email: str, role: str, stores, password: str, language: str | None = None
) -> Membership:
    """Create a user with a first password (the owner hands it over) and their membership.

    ``language`` is the language of the e-mails the back office sends them (the alert digest).
    """
    if role not in _allowed_roles(actor):
        raise PermissionDenied(_("You cannot give this role."))
    username = (username or "").strip()
    User = get_user_model()
    if not username:
        raise ValidationFailed(details={"username": [str(_("A user name is required."))]})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(details={"username": [str(_("This user name is taken."))]})
    stores = _checked_stores(actor, stores)
    if role != Role.OWNER and not stores:
        raise ValidationFailed(details={"stores": [str(_("Name at least one store."))]})
    user = User(username=username, email=(email or "").strip())
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as error:
        raise ValidationFailed(details={"password": list(error.messages)}) from None
    user.set_password(password)
    user.save()
    membership = Membership(user=user, merchant=actor.merchant, role=role)
    if language is not None:
        membership.language = _checked_language(language)
    membership.save()
    membership.stores.set(stores)
    membership_groups_sync(membership=membership)
    return membership


@transaction.atomic
def membership_update(
    *,
    actor: Actor,
    membership: Membership,
    role: str | None = None,
    stores=None,
    is_active: bool | None = None,
    language: str | None = None,
) -> MembershipChanged:
    _check_may_change(actor, membership, role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if language is not None:
        membership.language = _checked_language(language)
    if role is not None:
        membership.role = role
    if is_active is not None:
        membership.is_active = is_active
    membership.save()
    if stores is not None:
        membership.stores.set(_checked_stores(actor, stores))
    revoked = _revoke_uncovered_tokens(membership)
    membership_groups_sync(membership=membership)
    return MembershipChanged(membership=membership, tokens_revoked=revoked)


def _sessions_end(*, user) -> int:
    """Delete the user's live sessions; how many.

    Sessions are signed blobs, so finding a user's means reading each live one.
    Only back-office logins create sessions (the customer pages and the API keep
    none), so the table is as small as the number of signed-in owners and
    managers. A session engine that cannot be listed (cache, signed cookies)
    ends nothing here; a password change still ends those sessions.
    """
    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(session_store, "get_model_class"):
        return 0
    live = session_store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    ended = 0
    for session in live.iterator():
        if session_store().decode(session.session_data).get(SESSION_KEY) == str(user.pk):
            session_store(session_key=session.session_key).delete()  # the cache too, for cached_db
            ended += 1
    return ended


@transaction.atomic
def membership_sign_out_everywhere(*, actor: Actor, membership: Membership) -> SignedOutEverywhere:
    """Revoke every API token of the membership's user and end their back-office sessions.

    For a lost phone or a departing employee whose password is not known: the
    same people who may change the membership may do this.
    """
    _check_may_change(actor, membership)
    return SignedOutEverywhere(
        membership=membership,
        tokens_revoked=tokens_revoke_for_user(user=membership.user),
        sessions_ended=_sessions_end(user=membership.user),
    )

