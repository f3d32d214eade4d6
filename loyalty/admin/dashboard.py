"""What the admin index shows: a merchant's figures and chart, or the platform's."""

from django.urls import reverse
from django.utils.translation import gettext as _

from loyalty.models import Merchant, Program
from loyalty.selectors.alerts import alerts_open_count
from loyalty.selectors.stats import merchant_stats, platform_stats, program_stats

from .charts import bar_chart_svg
from .scoping import MANAGER, back_office_user

CHARTS = (
    ("stamps", "Stamps given per day", "#5B3A29"),
    ("points", "Points issued per day", "#1F6FB2"),
    ("enrollments", "New cards per day", "#2E8B57"),
)


def _charts(daily: list[dict]) -> list[dict]:
    return [
        {
            "title": _(title),
            "svg": bar_chart_svg(series=daily, key=key, title=_(title), colour=colour),
            "total": sum(row[key] for row in daily),
        }
        for key, title, colour in CHARTS
    ]


def dashboard_context(request) -> dict:
    who = back_office_user(request)
    if who.is_platform_admin:
        merchants = Merchant.objects.order_by("name")
        return {
            "dashboard": "platform",
            "stats": platform_stats(),
            "merchants": [
                {
                    "merchant": merchant,
                    "stats": merchant_stats(merchant=merchant),
                    "url": reverse("admin:loyalty_merchant_change", args=[merchant.pk]),
                }
                for merchant in merchants[:50]
            ],
        }
    if who.merchant is None:
        return {}
    program = Program.objects.filter(merchant=who.merchant).first()
    stats = program_stats(program=program) if program is not None else merchant_stats(merchant=who.merchant)
    stores = stats["stores"]
    if who.role == MANAGER:
        codes = set(who.membership.stores.values_list("code", flat=True))
        stores = [row for row in stores if row["store_code"] in codes]
    return {
        "dashboard": "merchant",
        "merchant": who.merchant,
        "program": program,
        "stats": stats,
        "store_rows": stores,
        "charts": _charts(stats["daily"]),
        # Those the Alerts page shows this user (owners: all; managers: their stores').
        "open_alerts": (
            alerts_open_count(merchant=who.merchant, user=who.user, role=who.role)
            if request.user.has_perm("loyalty.view_alert")
            else None
        ),
    }
