"""The real pieces together: Redis as broker, a Celery worker process, PostgreSQL, a Google stand-in.

A stamp enqueues its wallet update after commit; a separate worker process
takes it from Redis and PATCHes the (local) Google Wallet object.
"""

import subprocess
import time

import pytest

from loyalty.domain.cards import CardRef
from loyalty.services.stamps import stamp_add
from tests import factories
from tests.support.celery import celery_broker, worker_start, worker_stop
from tests.support.resources import current_database_url, redis_url_for_tests
from tests.wallet.google.fake_google import (
    ISSUER_ID,
    SITE_URL,
    new_service_account_key,
    service_account_info,
    start_server,
)
from wallet.google.services import google_save_url

BROKER = redis_url_for_tests()

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def google(tmp_path, settings):
    import json

    key = new_service_account_key()
    wallet, server = start_server(key.certificate_pem)
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(service_account_info(key, wallet.url + "/token")))
    env = {
        "SITE_URL": SITE_URL,
        "LOYALTY_GOOGLE_ISSUER_ID": ISSUER_ID,
        "LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON": str(key_file),
        "LOYALTY_GOOGLE_API_BASE": wallet.url + "/walletobjects/v1",
        "LOYALTY_GOOGLE_ORIGINS": SITE_URL,
        "LOYALTY_GOOGLE_ID_PREFIX": "loyalty",
    }
    settings.SITE_URL = SITE_URL
    settings.LOYALTY_GOOGLE_ISSUER_ID = ISSUER_ID
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(key_file)
    settings.LOYALTY_GOOGLE_API_BASE = env["LOYALTY_GOOGLE_API_BASE"]
    settings.LOYALTY_GOOGLE_ORIGINS = [SITE_URL]
    settings.LOYALTY_GOOGLE_ID_PREFIX = "loyalty"
    yield wallet, env
    server.shutdown()
    server.server_close()


@pytest.fixture
def worker(google):
    """A Celery worker process on the Redis broker, this run's queue and this test's PostgreSQL database."""
    env = {**google[1], "DATABASE_URL": current_database_url(), "DEBUG": "true", "LOG_LEVEL": "WARNING"}
    process = worker_start(broker=BROKER, env=env, stdout=subprocess.PIPE)
    with celery_broker(BROKER):
        yield process
    worker_stop(process)


def test_a_stamp_reaches_google_through_redis_and_a_worker(google, worker):
    wallet, _env = google
    store = factories.make_store(factories.make_merchant())
    factories.make_program(store.merchant)
    card = factories.make_card(store)
    google_save_url(card=card)  # the customer added the card to Google Wallet
    wallet.requests.clear()

    stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk))  # commits; enqueues

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not wallet.bodies("PATCH"):
        assert worker.poll() is None, worker.stdout.read().decode()
        time.sleep(0.2)
    assert wallet.bodies("PATCH") == [{"loyaltyPoints": {"label": "Stamps", "balance": {"string": "1/10"}}}]
