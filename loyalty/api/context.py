"""The one place an API request becomes a domain ``Actor``."""

from loyalty.domain.actors import Actor, Channel
from loyalty_site.http import client_ip, user_agent


def actor_from_request(request) -> Actor:
    """The till actor of a store token: its store, that store's merchant, the membership's role.

    Nothing from the URL or the body takes part, so no request can act for
    another merchant than the token's.
    """
    token = request.auth
    return Actor(
        merchant=token.store.merchant,
        store=token.store,
        user=request.user,
        role=token.membership.role,
        channel=Channel.TILL,
        ip_address=client_ip(request),
        user_agent=user_agent(request),
    )


def public_actor(request, *, store) -> Actor:
    return Actor(
        merchant=store.merchant,
        store=store,
        channel=Channel.PUBLIC,
        ip_address=client_ip(request),
        user_agent=user_agent(request),
    )


def admin_audit_context(request) -> dict:
    return {"actor": request.user, "ip_address": client_ip(request)}
