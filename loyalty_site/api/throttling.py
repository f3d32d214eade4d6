"""The API's throttles, counted by ``loyalty_site.rate_limits`` (one atomic cache counter per window).

Rates are read from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` on every
request, so a change of settings applies without re-importing anything. The
limits hold across processes only with a shared cache (``CACHE_URL``, Redis):
see ``loyalty_site.rate_limits``.
"""

from rest_framework.throttling import BaseThrottle

from loyalty_site.http import client_ip
from loyalty_site.rate_limits import LOGIN_SCOPE, rate_count, throttle_rate


class CacheCounterThrottle(BaseThrottle):
    scope: str = ""

    def __init__(self):
        self._wait = None

    def get_subject(self, request, view) -> str | None:
        """What is counted: a client IP by default; None means "not throttled"."""
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        rate = throttle_rate(self.scope)
        if not rate:
            return True
        subject = self.get_subject(request, view)
        if subject is None:
            return True
        decision = rate_count(scope=self.scope, subject=subject, rate=rate)
        self._wait = decision.retry_after_seconds
        return decision.allowed

    def wait(self):
        return self._wait


class LoginThrottle(CacheCounterThrottle):
    """Token requests per client IP: every attempt counts, on the same counter as the back-office login."""

    scope = LOGIN_SCOPE
