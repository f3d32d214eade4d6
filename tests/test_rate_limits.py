"""The one cache counter behind every throttle (``loyalty_site/rate_limits.py``), on each kind of cache."""

import pytest
from django.core.cache import caches

from loyalty_site.rate_limits import counter_increment, rate_count
from tests.support.resources import redis_delete_prefixed, redis_key_prefix, redis_url_for_tests


def _counts_and_expires(key: str) -> None:
    assert [counter_increment(key, timeout=60) for _ in range(3)] == [1, 2, 3]
    assert counter_increment(key, amount=5, timeout=60) == 8
    assert caches["default"].get(key) == 8  # readable by rate_check's plain get


def test_counter_on_the_local_memory_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "counter"}}
    _counts_and_expires("throttle:test:local")


@pytest.fixture
def redis_cache(settings):
    """Django's Redis cache on the tests' Redis, under a key prefix of this run (deleted after); the server."""
    import redis

    url, prefix = redis_url_for_tests(), redis_key_prefix()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    try:
        yield redis.Redis.from_url(url)
    finally:
        redis_delete_prefixed(url, prefix)


@pytest.mark.redis
def test_counter_on_redis_never_outlives_its_timeout(redis_cache):
    _counts_and_expires("throttle:test:redis")
    stored = caches["default"].make_and_validate_key("throttle:test:redis")
    assert 0 < redis_cache.ttl(stored) <= 60  # made with its timeout, and the increments kept it

    decisions = [rate_count(scope="scan", subject="token-1", rate="2/min") for _ in range(3)]
    assert [(decision.count, decision.allowed) for decision in decisions] == [(1, True), (2, True), (3, False)]


@pytest.mark.redis
def test_counter_on_redis_gives_a_key_left_without_timeout_its_timeout(redis_cache):
    stored = caches["default"].make_and_validate_key("throttle:test:mend")
    assert counter_increment("throttle:test:mend", timeout=60) == 1
    redis_cache.persist(stored)  # a counter left without a timeout (by an older version, by hand)

    assert counter_increment("throttle:test:mend", timeout=60) == 2

    assert 0 < redis_cache.ttl(stored) <= 60
