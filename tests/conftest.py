import os

import pytest

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")

from tests import factories  # noqa: E402
from tests.support.resources import database_name_for_tests, redis_url_for_tests  # noqa: E402

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    marked = marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    return bool(marked) or bool({"transactional_db", "live_server"} & set(item.fixturenames))


def pytest_collection_modifyitems(config, items):
    """Every transactional test restores the database the migrations made (``serialized_rollback``).

    A transactional test ends with a flush. A plain flush empties every table and
    lets post_migrate re-create content types and permissions under new ids,
    after which a serialized-rollback test (the browser tests, which need the
    groups and schedules made by data migrations) can no longer load its copy:
    "duplicate key (app_label, model)". Whether that happens depended on which
    transactional test ran before which; with every one of them serialized, each
    starts from the migrated data and none depends on the order.
    """
    for item in items:
        if _is_transactional(item) and "django_db_serialized_rollback" not in item.fixturenames:
            item.fixturenames.append("django_db_serialized_rollback")


def pytest_runtest_setup(item):
    if item.get_closest_marker("redis"):
        url = redis_url_for_tests()
        if not _redis_answers(url):
            message = f"needs Redis at {url}: start redis-server or set TEST_REDIS_URL"
            if REQUIRE_SERVICES:
                pytest.fail(message)
            pytest.skip(message)
    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip(
                "needs PostgreSQL: run `make test` where PostgreSQL answers on 127.0.0.1:5432, "
                "or set TEST_DATABASE_URL=postgres://user@host:port/db"
            )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """PostgreSQL tests run in a database of this run's own (see ``tests/support/resources.py``)."""
    from django.conf import settings

    for database in settings.DATABASES.values():
        if database["ENGINE"].endswith("postgresql"):
            database.setdefault("TEST", {})["NAME"] = database_name_for_tests()


@pytest.fixture(autouse=True)
def _fast_bcrypt(settings):
    """bcrypt at its minimum cost in tests; the configured cost is measured in `make bench`."""
    settings.LOYALTY_PIN_BCRYPT_ROUNDS = 4
    import staff.services.pins as pins

    pins._DUMMY_HASH = None


@pytest.fixture
def merchant(db):
    return factories.make_merchant("Café Alpha")


@pytest.fixture
def author(merchant):
    """The merchant's owner writing a campaign in the back office."""
    return factories.back_office_actor(merchant)


@pytest.fixture
def no_campaign_limits(settings):
    """Any hour, any number a day: for the campaign tests that are about something else (the limits have their own)."""
    settings.LOYALTY_CAMPAIGN_WINDOW_START_HOUR = 0
    settings.LOYALTY_CAMPAIGN_WINDOW_END_HOUR = 24
    settings.LOYALTY_CAMPAIGNS_PER_DAY = 100


@pytest.fixture
def store(merchant):
    return factories.make_store(merchant, code="alpha-center")


@pytest.fixture
def program(merchant):
    return factories.make_program(merchant)


@pytest.fixture
def reward(program):
    return factories.make_reward(program, "Croissant", 100)


@pytest.fixture
def card(store, program):
    return factories.make_card(store)


@pytest.fixture
def other_merchant(db):
    return factories.make_merchant("Bakery Beta")


@pytest.fixture
def other_store(other_merchant):
    return factories.make_store(other_merchant, code="beta-shop")


@pytest.fixture
def other_program(other_merchant):
    return factories.make_program(other_merchant, name="Beta Stamps", loyalty_type="stamps")


@pytest.fixture
def other_card(other_store, other_program):
    return factories.make_card(other_store)


@pytest.fixture
def actor(store):
    return factories.till_actor(store)


@pytest.fixture
def owner(store):
    return factories.owner_actor(store)
