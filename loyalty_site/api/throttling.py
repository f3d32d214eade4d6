"""Throttles counted in the shared cache with one atomic increment per request.

DRF's ``SimpleRateThrottle`` keeps a list of timestamps and writes it back
(read-modify-write), so two processes answering at once can both let a request
through. Here each (scope, client, window) has one counter: ``cache.add``
starts it and ``cache.incr`` counts, both atomic in Redis and in the local
memory cache, so the limit holds across processes. Windows are fixed
(``10/min`` is at most 10 per calendar minute); ``wait()`` is the time until
the window ends and becomes ``Retry-After``.

Rates are read from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` on every
request, so a change of settings applies without re-importing anything.
"""

import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from loyalty_site.api.client_ip import client_ip

_DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/min"`` → (10, 60)."""
    count, period = rate.split("/")
    return int(count), _DURATIONS[period.strip()[0]]


class CacheCounterThrottle(BaseThrottle):
    scope: str = ""

    def __init__(self):
        self._wait = None

    def get_ident_key(self, request, view) -> str | None:
        """What is counted: a client IP by default; None means "not throttled"."""
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        ident = self.get_ident_key(request, view)
        if ident is None:
            return True
        limit, duration = parse_rate(rate)
        now = time.time()
        window = int(now // duration)
        key = f"throttle:{self.scope}:{ident}:{duration}:{window}"
        cache.add(key, 0, timeout=duration + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens a new count
            cache.add(key, 1, timeout=duration + 1)
            count = 1
        if count > limit:
            self._wait = max((window + 1) * duration - now, 1)
            return False
        return True

    def wait(self):
        return self._wait


class LoginThrottle(CacheCounterThrottle):
    """Token requests per client IP: every attempt counts, so guessing passwords is slow."""

    scope = "login"
