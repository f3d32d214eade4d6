"""Fixtures: Google Wallet configured against a local stand-in of Google (see ``fake_google``)."""

import json

import pytest

from .fake_google import (
    ISSUER_ID,
    SITE_URL,
    FakeGoogleWallet,
    ServiceAccountKey,
    new_service_account_key,
    service_account_info,
    start_server,
)


@pytest.fixture(scope="session")
def service_account_key() -> ServiceAccountKey:
    """A fresh RSA key with a self-signed certificate, like Google's published service-account certs."""
    return new_service_account_key()


@pytest.fixture
def fake_google(service_account_key) -> FakeGoogleWallet:
    wallet, server = start_server(service_account_key.certificate_pem)
    yield wallet
    server.shutdown()
    server.server_close()


@pytest.fixture
def service_account_file(tmp_path, service_account_key, fake_google):
    path = tmp_path / "google-service-account.json"
    path.write_text(json.dumps(service_account_info(service_account_key, fake_google.url + "/token")))
    return path


@pytest.fixture
def google_wallet(settings, fake_google, service_account_file):
    """Google Wallet configured against the local server; yields the server."""
    settings.SITE_URL = SITE_URL
    settings.LOYALTY_GOOGLE_ISSUER_ID = ISSUER_ID
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(service_account_file)
    settings.LOYALTY_GOOGLE_API_BASE = fake_google.url + "/walletobjects/v1"
    settings.LOYALTY_GOOGLE_ORIGINS = [SITE_URL]
    settings.LOYALTY_GOOGLE_ID_PREFIX = "loyalty"
    settings.LOYALTY_GOOGLE_TIMEOUT_SECONDS = 2.0
    return fake_google


@pytest.fixture
def google_wallet_off(settings):
    settings.LOYALTY_GOOGLE_ISSUER_ID = ""
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = ""
