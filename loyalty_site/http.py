"""Facts about the request that every interface records: the client's address and its user agent.

One home for the API, the customer pages, the back office and Apple's web
service, so an operation, an audit entry and a throttle counter all name the
same client.

Only the proxies we run may be believed: with ``TRUSTED_PROXY_COUNT = n`` the
n-th address from the right of ``X-Forwarded-For`` is the one our outermost
proxy saw. Addresses further left were written by the client and can be
anything, so they are never used. With ``0`` the address is ``REMOTE_ADDR``.
"""

import ipaddress

from django.conf import settings

USER_AGENT_MAX_LENGTH = 256


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    meta = getattr(request, "META", {})
    remote = _valid(meta.get("REMOTE_ADDR", "") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    # Fewer entries than proxies: the leftmost is the best the chain tells us.
    return _valid(forwarded[-min(proxies, len(forwarded))]) or remote


def user_agent(request) -> str:
    return (getattr(request, "META", {}).get("HTTP_USER_AGENT", "") or "")[:USER_AGENT_MAX_LENGTH]
