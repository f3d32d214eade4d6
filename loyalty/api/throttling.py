"""The API's throttle scopes; rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``."""

from loyalty_site.api.throttling import CacheCounterThrottle


class ScanThrottle(CacheCounterThrottle):
    """Till operations per token: one scanner app cannot flood the service, whatever its IP."""

    scope = "scan"

    def get_subject(self, request, view):
        token = request.auth
        return f"token-{token.pk}" if token is not None else None


class PublicThrottle(CacheCounterThrottle):
    """Public reads per client IP."""

    scope = "public"


class EnrollThrottle(CacheCounterThrottle):
    """Public enrollments per client IP (each one may send an e-mail)."""

    scope = "enroll"
