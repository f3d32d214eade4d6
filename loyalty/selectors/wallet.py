"""The reads the wallet app makes of loyalty data: cards, programs, their rewards and stores.

Wallet code (pass building, Google objects, save links) reaches loyalty's
models only through these functions and ``customer_pages.program_rewards``, so the rules of what a pass may show
(an inactive merchant's card is unknown; only active rewards, in the
merchant's order, and active stores are listed) are loyalty's, written once.
"""

from collections.abc import Callable
from dataclasses import dataclass

from loyalty.models import (
    AutomaticMessageDelivery,
    AutomaticMessageKind,
    AutomaticMessageStatus,
    Campaign,
    CampaignStatus,
    LoyaltyCard,
    Program,
    Store,
)
from loyalty.selectors.automatic_messages import automatic_message_text
from loyalty.selectors.settings import merchant_settings_get


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


@dataclass(frozen=True)
class CardNews:
    """What a pass shows as news: the latest campaign or automatic message that reached the card.

    ``key`` is different for each message, so a pass that shows a new one
    alerts (its field's value changes) and one built again does not.
    """

    key: str
    text_for: Callable[[str], str]
    link_url: str = ""


def card_news_get(*, card_id: int) -> CardNews | None:
    """The latest campaign (sending or sent) or automatic message (sent) that reached this card, or None.

    A card is in a campaign's audience when the campaign has a delivery row
    for it (every card of the audience gets one, consenting to e-mail or not);
    an automatic message reaches every pass of the card (the welcome, an
    e-mail, none).
    """
    campaign = (
        Campaign.objects.filter(deliveries__card_id=card_id, status__in=(CampaignStatus.SENDING, CampaignStatus.SENT))
        .order_by("-started_at", "-pk")
        .first()
    )
    automatic = (
        AutomaticMessageDelivery.objects.filter(card_id=card_id, status=AutomaticMessageStatus.SENT)
        .exclude(kind=AutomaticMessageKind.WELCOME)  # the welcome is an e-mail only
        .select_related("merchant")
        .order_by("-sent_at", "-pk")
        .first()
    )
    if automatic is not None and (
        campaign is None or campaign.started_at is None or automatic.sent_at > campaign.started_at
    ):
        merchant_settings = merchant_settings_get(merchant=automatic.merchant)
        return CardNews(
            key=f"auto_{automatic.pk}",
            text_for=lambda language: automatic_message_text(
                merchant_settings=merchant_settings, kind=automatic.kind, language=language
            ),
        )
    if campaign is None:
        return None
    return CardNews(key=str(campaign.pk), text_for=campaign.text_for, link_url=campaign.link_url)
