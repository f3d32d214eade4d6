"""Statistics, computed by the database (aggregates), never by loading rows.

The ledger queries filter on (merchant, created_at) or (merchant, type,
created_at), which the transaction indexes serve; card figures aggregate the
card table per program.
"""

from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from loyalty.models import LoyaltyCard, LoyaltyTransaction, Merchant, Program, Store, TransactionType

T = TransactionType


def _card_figures(cards, *, now: datetime) -> dict:
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    figures = cards.aggregate(
        cards_total=Count("pk"),
        cards_active_30d=Count("pk", filter=Q(last_activity_at__gte=now - timedelta(days=30))),
        cards_new_this_month=Count("pk", filter=Q(created_at__gte=month_start)),
        stamps_issued=Coalesce(Sum("total_stamps_earned"), 0),
        stamps_voided=Coalesce(Sum("total_stamps_voided"), 0),
        stamp_rewards_redeemed=Coalesce(Sum("stamps_redeemed"), 0),
        points_issued=Coalesce(Sum("total_points_earned"), 0),
        points_redeemed=Coalesce(Sum("points_redeemed"), 0),
        points_voided=Coalesce(Sum("total_points_voided"), 0),
        points_expired=Coalesce(Sum("total_points_expired"), 0),
        points_outstanding=Coalesce(Sum("points_balance"), 0),
        stamps_outstanding=Coalesce(Sum("stamp_count"), 0),
    )
    return figures


def _ledger_figures(transactions, *, now: datetime) -> dict:
    since_30 = now - timedelta(days=30)
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return transactions.filter(created_at__gte=min(since_30, month_start)).aggregate(
        transactions_7d=Count("pk", filter=Q(created_at__gte=now - timedelta(days=7))),
        transactions_30d=Count("pk", filter=Q(created_at__gte=since_30)),
        rewards_redeemed_this_month=Count(
            "pk", filter=Q(created_at__gte=month_start, type__in=[T.STAMP_REDEEMED, T.POINTS_REDEEMED])
        ),
    )


def daily_series(transactions, *, now: datetime, days: int = 30) -> list[dict]:
    """Per local day for the last ``days`` days: stamps, points issued, enrollments, redemptions."""
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    rows = (
        transactions.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            stamps=Coalesce(Sum("stamps_delta", filter=Q(type=T.STAMP_EARNED)), 0),
            points=Coalesce(Sum("points_delta", filter=Q(type=T.POINTS_EARNED)), 0),
            enrollments=Count("pk", filter=Q(type=T.CARD_ENROLLED)),
            redemptions=Count("pk", filter=Q(type__in=[T.STAMP_REDEEMED, T.POINTS_REDEEMED])),
        )
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    series = []
    for offset in range(days):
        day = (start + timedelta(days=offset)).date()
        row = by_day.get(day, {})
        series.append(
            {
                "date": day.isoformat(),
                "stamps": row.get("stamps", 0),
                "points": row.get("points", 0),
                "enrollments": row.get("enrollments", 0),
                "redemptions": row.get("redemptions", 0),
            }
        )
    return series


def per_store(*, merchant: Merchant, now: datetime) -> list[dict]:
    since = now - timedelta(days=30)
    rows = (
        LoyaltyTransaction.objects.for_merchant(merchant)
        .filter(created_at__gte=since, store__isnull=False)
        .values("store")
        .annotate(
            stamps_30d=Coalesce(Sum("stamps_delta", filter=Q(type=T.STAMP_EARNED)), 0),
            points_30d=Coalesce(Sum("points_delta", filter=Q(type=T.POINTS_EARNED)), 0),
            enrollments_30d=Count("pk", filter=Q(type=T.CARD_ENROLLED)),
            transactions_30d=Count("pk"),
        )
    )
    by_store = {row["store"]: row for row in rows}
    cards_by_store = dict(
        LoyaltyCard.objects.for_merchant(merchant)
        .values("enrolled_store")
        .annotate(n=Count("pk"))
        .values_list("enrolled_store", "n")
    )
    result = []
    for store in Store.objects.for_merchant(merchant).order_by("name"):
        row = by_store.get(store.pk, {})
        result.append(
            {
                "store_code": store.code,
                "store_name": store.name,
                "cards_enrolled": cards_by_store.get(store.pk, 0),
                "stamps_30d": row.get("stamps_30d", 0),
                "points_30d": row.get("points_30d", 0),
                "enrollments_30d": row.get("enrollments_30d", 0),
                "transactions_30d": row.get("transactions_30d", 0),
            }
        )
    return result


def program_stats(*, program: Program, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    cards = LoyaltyCard.objects.filter(program=program)
    transactions = LoyaltyTransaction.objects.for_merchant(program.merchant_id)
    return {
        "program_id": program.pk,
        "program_name": program.name,
        "loyalty_type": program.loyalty_type,
        **_card_figures(cards, now=now),
        **_ledger_figures(transactions, now=now),
        "daily": daily_series(transactions, now=now),
        "stores": per_store(merchant=program.merchant, now=now),
    }


def merchant_stats(*, merchant: Merchant, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    transactions = LoyaltyTransaction.objects.for_merchant(merchant)
    return {
        "merchant_id": merchant.pk,
        "merchant_name": merchant.name,
        "stores_total": Store.objects.for_merchant(merchant).count(),
        "customers_total": merchant.customers.count(),
        **_card_figures(LoyaltyCard.objects.for_merchant(merchant), now=now),
        **_ledger_figures(transactions, now=now),
        "daily": daily_series(transactions, now=now),
        "stores": per_store(merchant=merchant, now=now),
    }


def platform_stats(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        "merchants_total": Merchant.objects.count(),
        "merchants_active": Merchant.objects.filter(is_active=True).count(),
        "stores_total": Store.objects.count(),
        "programs_active": Program.objects.filter(is_active=True).count(),
        **_card_figures(LoyaltyCard.objects.all(), now=now),
        **_ledger_figures(LoyaltyTransaction.objects.all(), now=now),
    }
