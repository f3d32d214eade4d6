"""Store, admin and anonymous API clients over real tokens (issued by the token service)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from staff.services.tokens import token_issue
from tests import factories
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Tests sign in hundreds of times; the production hasher's cost is not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def client_for(user, store=None, **headers) -> APIClient:
    issued = token_issue(username=user.username, password=PASSWORD, store_code=store.code if store else None)
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    client.token = issued.token
    client.user = user
    return client


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def staff_user(merchant, store):
    return factories.make_user("staff", merchant, stores=[store])


@pytest.fixture
def staff_client(staff_user, store):
    return client_for(staff_user, store)


@pytest.fixture
def manager_client(merchant, store):
    return client_for(factories.make_user("manager", merchant, stores=[store]), store)


@pytest.fixture
def owner_client(merchant, store):
    return client_for(factories.make_user("owner", merchant), store)


@pytest.fixture
def other_owner_client(other_merchant, other_store, other_program):
    return client_for(factories.make_user("owner", other_merchant), other_store)


@pytest.fixture
def admin_client(db):
    return client_for(factories.make_admin(password=PASSWORD))


def error_of(response) -> dict:
    """The error body, asserting the one shape every API error has."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["details"], dict)
    return body["error"]
