"""Signing a member out everywhere: every token revoked, every back-office session ended, nobody else's."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from loyalty.domain.actors import Actor, Channel
from loyalty.exceptions import PermissionDenied
from staff.models import ApiToken
from staff.services.memberships import membership_sign_out_everywhere
from staff.services.tokens import token_authenticate, token_issue
from tests import factories
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _issue(user, store=None):
    return token_issue(username=user.username, password=PASSWORD, store_code=store.code if store else None)


def test_a_platform_admin_signs_an_owner_out_of_every_store_and_session(merchant, store):
    station = factories.make_store(merchant)
    owner, colleague = factories.make_user("owner", merchant), factories.make_user("manager", merchant, stores=[store])
    keys = [_issue(owner, store).key, _issue(owner, station).key]
    kept = _issue(colleague, store).key
    for user in (owner, owner, colleague):  # the owner in two browsers
        _signed_in(user)
    admin = factories.make_admin()
    actor = Actor(merchant=merchant, user=admin, role=None, channel=Channel.ADMIN)

    result = membership_sign_out_everywhere(actor=actor, membership=owner.membership)

    assert (result.tokens_revoked, result.sessions_ended) == (2, 2)
    assert all(token_authenticate(key=key) is None for key in keys)
    assert token_authenticate(key=kept) is not None
    assert [session.get_decoded()["_auth_user_id"] for session in Session.objects.all()] == [str(colleague.pk)]


def test_another_merchants_membership_is_refused_and_nothing_changes(merchant, store, other_merchant, other_store):
    stranger = factories.make_user("staff", other_merchant, stores=[other_store])
    issued = _issue(stranger, other_store)
    _signed_in(stranger)

    with pytest.raises(PermissionDenied):
        membership_sign_out_everywhere(actor=factories.owner_actor(store), membership=stranger.membership)

    assert token_authenticate(key=issued.key) is not None
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert Session.objects.count() == 1
