"""Who a campaign reaches: one selector for the count shown before sending and for the sending itself.

Every audience is among the merchant's active cards; the same function
answers the back office's "this message will reach N cards" and the task that
delivers it, so the two cannot disagree.
"""

from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from loyalty.models import (
    Campaign,
    CampaignAudience,
    CampaignDelivery,
    LoyaltyCard,
    LoyaltyTransaction,
    Merchant,
    Program,
    Reward,
    Store,
)


def _recent_ledger_row(*, days: int, now: datetime) -> Exists:
    since = now - timedelta(days=days)
    return Exists(LoyaltyTransaction.objects.filter(card=OuterRef("pk"), created_at__gte=since))


def _can_redeem_filter(merchant: Merchant) -> Q:
    program = Program.objects.for_merchant(merchant).first()
    if program is None:
        return Q(pk__in=[])
    can_redeem = Q(pk__in=[])
    if program.has_stamps:
        can_redeem |= Q(stamp_count__gte=F("program__stamps_target"))
    if program.has_points:
        cheapest = Reward.objects.filter(program=program, is_active=True).aggregate(points=Min("points_required"))[
            "points"
        ]
        if cheapest is not None:
            can_redeem |= Q(points_balance__gte=cheapest)
    return can_redeem


def campaign_audience(
    *,
    merchant: Merchant,
    kind: str,
    days: int | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> QuerySet[LoyaltyCard]:
    """The merchant's active cards in the audience ``kind``, ordered by id (the order batches follow).

    ``days`` is required by the audiences counted in days, ``store`` by
    "enrolled at a store"; a store of another merchant matches no card.
    "Active in the last N days" means any ledger row in that time (an
    enrollment, a stamp, a redemption…); "inactive" is its complement.
    """
    audience = CampaignAudience(kind)
    now = now or timezone.now()
    cards = LoyaltyCard.objects.for_merchant(merchant).filter(is_active=True).order_by("pk")
    if audience.needs_days and (days is None or days < 1):
        raise ValueError(f"The audience {audience} needs a number of days of at least 1.")
    if audience is CampaignAudience.ACTIVE_RECENTLY:
        return cards.filter(_recent_ledger_row(days=days, now=now))
    if audience is CampaignAudience.INACTIVE:
        return cards.exclude(_recent_ledger_row(days=days, now=now))
    if audience is CampaignAudience.CAN_REDEEM:
        return cards.filter(_can_redeem_filter(merchant))
    if audience is CampaignAudience.ENROLLED_AT_STORE:
        if store is None:
            raise ValueError("The audience enrolled_at_store needs a store.")
        return cards.filter(enrolled_store_id=store.pk)
    return cards


def campaign_audience_count(
    *,
    merchant: Merchant,
    kind: str,
    days: int | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> int:
    return campaign_audience(merchant=merchant, kind=kind, days=days, store=store, now=now).count()


def campaign_cards(*, campaign: Campaign, now: datetime | None = None) -> QuerySet[LoyaltyCard]:
    """The cards of a campaign's audience, as set on the campaign."""
    return campaign_audience(
        merchant=campaign.merchant_id,
        kind=campaign.audience,
        days=campaign.audience_days,
        store=campaign.audience_store,
        now=now,
    )


def campaign_delivery_counts(*, campaign: Campaign) -> dict[str, dict[str, int]]:
    """``{channel: {status: count}}`` of a campaign's deliveries, for its page in the back office."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        CampaignDelivery.objects.filter(campaign=campaign)
        .order_by()
        .values_list("channel", "status")
        .annotate(total=Count("id"))
    )
    for channel, status, total in rows:
        counts.setdefault(channel, {})[status] = total
    return counts
