"""The reads the wallet app makes of loyalty data: cards, programs, their rewards and stores.

Wallet code (pass building, Google objects, save links) reaches loyalty's
models only through these functions and ``customer_pages.program_rewards``, so the rules of what a pass may show
(an inactive merchant's card is unknown; only active rewards, in the
merchant's order, and active stores are listed) are loyalty's, written once.
"""

from loyalty.models import Campaign, CampaignStatus, LoyaltyCard, Program, Store


def card_get_for_wallet(*, card_id: int) -> LoyaltyCard:
    """The card with what its passes show (program, merchant, customer); ``DoesNotExist`` when unknown."""
    return LoyaltyCard.objects.select_related("program__merchant", "merchant", "customer").get(pk=card_id)


def card_get_by_public_token(*, public_token: str) -> LoyaltyCard | None:
    """The card behind a card-page token (the customer's credential), or None.

    A card of a deactivated merchant is unknown, on the card page and to the
    wallets alike: nobody could honour what its pass promises.
    """
    if not public_token:
        return None
    return (
        LoyaltyCard.objects.select_related("program__merchant", "merchant", "customer", "enrolled_store")
        .filter(public_token=public_token, merchant__is_active=True)
        .first()
    )


def program_get_for_wallet(*, program_id: int) -> Program:
    return Program.objects.select_related("merchant").get(pk=program_id)


def merchant_stores_for_pass(*, merchant_id: int) -> list[Store]:
    """The merchant's active stores by name (the "where to use it" text of a pass)."""
    return list(Store.objects.filter(merchant_id=merchant_id, is_active=True).order_by("name"))


def card_news_get(*, card_id: int) -> Campaign | None:
    """The latest campaign that reached this card (sending or sent), whose text its passes show as news.

    A card is in a campaign's audience when the campaign has a delivery row
    for it (every card of the audience gets one, consenting to e-mail or not).
    """
    return (
        Campaign.objects.filter(
            deliveries__card_id=card_id, status__in=(CampaignStatus.SENDING, CampaignStatus.SENT)
        )
        .order_by("-started_at", "-pk")
        .first()
    )
