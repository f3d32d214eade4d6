"""The back-office login is throttled like the token endpoint: per client IP, and per username for failed attempts."""

import logging

import pytest
from django.urls import reverse

from loyalty.models import AdminAuditLog
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "wrong-Secret-7731"
LOGIN_ATTEMPTS = 10


@pytest.fixture(autouse=True)
def _login_rate(settings):
    # Per hour rather than the default per minute: a test never straddles the end of a window.
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": f"{LOGIN_ATTEMPTS}/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def _log_in(client, username, password, address="198.51.100.1", **headers):
    data = {"username": username, "password": password, "next": reverse("admin:index")}
    return client.post(reverse("admin:login"), data, REMOTE_ADDR=address, **headers)


def _login_entries():
    return AdminAuditLog.objects.filter(object_type="auth.User", action="action").order_by("pk")


def _fail(client, username, times, **kwargs):
    for _ in range(times):
        assert _log_in(client, username, WRONG_PASSWORD, **kwargs).status_code == 200  # the form again, with its error


def test_after_ten_wrong_passwords_even_the_right_one_is_refused(world, client):
    _fail(client, "alpha-owner", LOGIN_ATTEMPTS)

    response = _log_in(client, "alpha-owner", PASSWORD)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert "Too many login attempts" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302  # no session was opened


def test_the_username_stays_locked_from_another_address(world, client):
    for number in range(LOGIN_ATTEMPTS):  # one guess per address: the per-IP limit never trips
        _fail(client, "alpha-owner", 1, address=f"203.0.113.{number + 1}")

    refused = _log_in(client, "alpha-owner", PASSWORD, address="192.0.2.99")
    other_account = _log_in(client, "alpha-manager", PASSWORD, address="192.0.2.99")

    assert refused.status_code == 429
    assert other_account.status_code == 302  # the lock is the account's, not the address's


def test_the_address_is_limited_whatever_the_usernames(world, client):
    for number in range(LOGIN_ATTEMPTS):
        _fail(client, f"guess-{number}", 1)

    assert _log_in(client, "alpha-owner", PASSWORD).status_code == 429
    assert _log_in(client, "alpha-owner", PASSWORD, address="198.51.100.2").status_code == 302


def test_successful_logins_never_lock_an_account(world, client):
    for number in range(LOGIN_ATTEMPTS + 2):
        assert _log_in(client, "alpha-owner", PASSWORD, address=f"203.0.113.{number + 1}").status_code == 302
        client.logout()


def test_the_address_shares_its_budget_with_the_token_endpoint(world, client):
    body = {"username": "alpha-manager", "password": WRONG_PASSWORD, "store_code": world.alpha.store.code}
    for _ in range(LOGIN_ATTEMPTS):
        client.post("/api/v1/auth/token", body, content_type="application/json", REMOTE_ADDR="198.51.100.1")

    assert _log_in(client, "alpha-owner", PASSWORD).status_code == 429


def test_failed_and_throttled_logins_are_audited_without_the_password(world, client, caplog):
    caplog.set_level(logging.DEBUG)

    _fail(client, "alpha-owner", LOGIN_ATTEMPTS)
    for _ in range(3):  # refused: one audit entry for the window, not one per request
        assert _log_in(client, "alpha-owner", WRONG_PASSWORD, address="192.0.2.7").status_code == 429

    entries = list(_login_entries())
    assert [entry.summary for entry in entries] == ["back-office login failed: alpha-owner"] * 10 + [
        "back-office login refused (too many failed attempts for this account): alpha-owner"
    ]
    assert {entry.object_id for entry in entries} == {str(world.owner.pk)}
    assert {entry.merchant_id for entry in entries} == {world.alpha.merchant.pk}  # the owner sees it in their log
    assert [entry.ip_address for entry in entries] == ["198.51.100.1"] * 10 + ["192.0.2.7"]
    assert all(entry.actor_id is None for entry in entries)
    stored = " ".join(f"{entry.summary} {entry.object_id} {entry.changes}" for entry in entries)
    assert WRONG_PASSWORD not in stored and PASSWORD not in stored
    logged = " ".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert "admin.login_throttled" in logged
    assert WRONG_PASSWORD not in logged and PASSWORD not in logged


def test_what_is_typed_as_an_unknown_username_is_not_recorded(world, client):
    _log_in(client, WRONG_PASSWORD, WRONG_PASSWORD)  # a password typed into the username box

    entry = _login_entries().get()
    assert entry.summary == "back-office login failed: unknown username"
    assert (entry.object_id, entry.merchant_id) == ("", None)
    assert WRONG_PASSWORD not in f"{entry.summary} {entry.changes}"


def test_a_staff_account_refused_with_its_right_password_keeps_its_till_login(world, client):
    for _ in range(LOGIN_ATTEMPTS):
        assert _log_in(client, "alpha-staff", PASSWORD, address="203.0.113.9").status_code == 200

    body = {"username": "alpha-staff", "password": PASSWORD, "store_code": world.alpha.store.code}
    token = client.post("/api/v1/auth/token", body, content_type="application/json", REMOTE_ADDR="192.0.2.8")
    assert token.status_code == 201  # refusals of a known account with its password are not counted as guesses
    assert not _login_entries().exists()


def test_behind_a_proxy_a_failed_login_records_the_client_address(world, client, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    _log_in(client, "alpha-owner", WRONG_PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.51")

    assert _login_entries().get().ip_address == "203.0.113.51"
