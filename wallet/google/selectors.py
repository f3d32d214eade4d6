"""Reads for the Google Wallet endpoints."""

from loyalty.models import LoyaltyCard


def card_get_by_public_token(*, public_token: str) -> LoyaltyCard | None:
    """The card whose page token this is (the token is the customer's credential), or None."""
    if not public_token:
        return None
    return (
        LoyaltyCard.objects.select_related("program__merchant", "customer")
        .filter(public_token=public_token)
        .first()
    )
