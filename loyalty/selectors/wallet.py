"""The reads the wallet app makes of loyalty data: cards, programs, their rewards and stores.

Wallet code (pass building, Google objects, save links) reaches loyalty's
models only through these functions and ``customer_pages.program_rewards``, so the rules of what a pass may show
(an inactive merchant's card is unknown; only active rewards, in the
merchant's order, and active stores are listed) are loyalty's, written once.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import CharField, Count, Max, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat

from loyalty.models import (
    AutomaticMessageDelivery,
    AutomaticMessageKind,
    AutomaticMessageStatus,
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    Customer,
    LoyaltyCard,
    Merchant,
    Program,
    Reward,
    Store,
)
from loyalty.selectors.automatic_messages import automatic_message_text
from loyalty.selectors.settings import merchant_settings_get

NEWS_STATUSES = (CampaignStatus.SENDING.value, CampaignStatus.SENT.value)
NEWS_AUTOMATIC_STATUS = AutomaticMessageStatus.SENT.value
NEWS_AUTOMATIC_EXCLUDED_KIND = AutomaticMessageKind.WELCOME.value  # the welcome is an e-mail only


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


def _news_campaigns(card_id, merchant_id):
    # The merchant's campaigns only (its index), each asked for a delivery to the card: the same rows as
    # asking every campaign of the platform, without reading every campaign of the platform.
    return Campaign.objects.filter(
        merchant_id=merchant_id, deliveries__card_id=card_id, status__in=NEWS_STATUSES
    ).order_by("-started_at", "-pk")


def _news_automatic(card_id):
    return (
        AutomaticMessageDelivery.objects.filter(card_id=card_id, status=NEWS_AUTOMATIC_STATUS)
        .exclude(kind=NEWS_AUTOMATIC_EXCLUDED_KIND)
        .order_by("-sent_at", "-pk")
    )


def pass_source_models() -> dict:
    """The loyalty tables the Apple pass's one hand-written read joins (``wallet.apple.selectors``), by
    role; its ORM twin is :func:`card_pass_annotations` with the pass's ``select_related``."""
    return {
        "card": LoyaltyCard, "customer": Customer, "program": Program, "merchant": Merchant,
        "reward": Reward, "store": Store, "campaign": Campaign, "delivery": CampaignDelivery,
        "automatic": AutomaticMessageDelivery,
    }  # fmt: skip


def _rows_version(queryset, group: str):
    """The rows of ``queryset`` sharing ``group`` (an outer reference) as one text, in one subquery: their
    number and their latest ``updated_at`` ("2 2026-12-03 09:41:07.5+00"; "0 " without rows)."""
    version = Concat(
        Cast(Count("pk"), CharField()), Value(" "), Coalesce(Cast(Max("updated_at"), CharField()), Value("")),
        output_field=CharField(),
    )
    rows = queryset.values(group).annotate(value=version).values("value")[:1]
    return Coalesce(Subquery(rows), Value("0 "), output_field=CharField())  # no rows: no group, no row


def card_pass_annotations(*, card_path: str) -> dict:
    """Annotations for a query reaching a card at ``card_path`` (``"card__"``, or ``""`` on cards):
    what a pass needs besides the card's own row, its program and its merchant, in the same statement.

    ``pass_rewards_version`` and ``pass_stores_version`` change whenever a row of the program's rewards
    or of the merchant's stores is added (the number), edited (every write saves ``updated_at``) or
    deleted (the number), so they stand for the rows in a cache key without reading them; one value per
    table, as each is a sub-plan PostgreSQL sets up on every execution (four of them, a count and a latest
    apart, cost a pass ~0.07 ms more). ``pass_news_id`` and ``pass_news_automatic_id`` are the latest
    campaign and automatic message that reached the card, from which :func:`card_news_pick` chooses the news.
    """
    program_id, merchant_id, card_id = (OuterRef(f"{card_path}{name}") for name in ("program_id", "merchant_id", "pk"))
    rewards = Reward.objects.filter(program_id=program_id).order_by()
    stores = Store.objects.filter(merchant_id=merchant_id).order_by()
    return {
        "pass_rewards_version": _rows_version(rewards, "program_id"),
        "pass_stores_version": _rows_version(stores, "merchant_id"),
        "pass_news_id": Subquery(_news_campaigns(card_id, merchant_id).values("pk")[:1]),
        "pass_news_automatic_id": Subquery(_news_automatic(card_id).values("pk")[:1]),
    }


@dataclass(frozen=True)
class CardNews:
    """What a pass shows as news: the latest campaign or automatic message that reached the card.

    ``key`` is different for each message, so a pass that shows a new one
    alerts (its field's value changes) and one built again does not.
    """

    key: str
    text_for: Callable[[str], str]
    link_url: str = ""


def card_news_pick(*, campaign_id: int | None, automatic_id: int | None) -> CardNews | None:
    """The news of a card whose latest campaign and automatic message are these (either may be None):
    the more recent of the two. Reads nothing when both are None (most cards, most of the time)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
    automatic = (
        AutomaticMessageDelivery.objects.select_related("merchant").filter(pk=automatic_id).first()
        if automatic_id
        else None
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


def card_news_get(*, card_id: int) -> CardNews | None:
    """The latest campaign (sending or sent) or automatic message (sent) that reached this card, or None.

    A card is in a campaign's audience when the campaign has a delivery row
    for it (every card of the audience gets one, consenting to e-mail or not);
    an automatic message reaches every pass of the card (the welcome, an
    e-mail, none).
    """
    return card_news_pick(
        campaign_id=_news_campaigns(card_id, LoyaltyCard.objects.filter(pk=card_id).values("merchant_id")[:1])
        .values_list("pk", flat=True)
        .first(),
        automatic_id=_news_automatic(card_id).values_list("pk", flat=True).first(),
    )
