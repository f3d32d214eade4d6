"""Request and response examples for the OpenAPI document (values as the demo data gives them)."""

from drf_spectacular.utils import OpenApiExample

AT = "2026-03-14T09:15:00+01:00"
NEXT = "2026-03-14T09:30:00+01:00"

CUSTOMER = {
    "id": 7,
    "full_name": "Léa Muller",
    "email": "lea.muller@example.com",
    "phone": "",
    "preferred_language": "fr",
}
CARD_SUMMARY = {
    "id": 42,
    "card_number": "482915736204",
    "customer": CUSTOMER,
    "stamp_count": 4,
    "points_balance": 310,
    "is_active": True,
    "enrolled_store": "demo-center",
    "created_at": "2026-02-14T10:02:11+01:00",
    "last_activity_at": AT,
}
CARD_PROGRAM = {
    "id": 1,
    "name": "Demo Café Card",
    "loyalty_type": "hybrid",
    "stamps_target": 10,
    "stamps_reward_description": "Free coffee",
}
CARD_URL = "https://loyalty.example.com/fr/card/Yl0m3c8Pq1W2e4R5t6Y7u8I9o0P1a2S3/"
WALLET = {"apple_pass_issued": False, "apple_devices_registered": 0, "google_wallet_saved": False, "needs_sync": False}
CARD_DETAIL = {
    "id": 42,
    "card_number": "482915736204",
    "customer": CUSTOMER,
    "program": CARD_PROGRAM,
    "reward_description": "Free coffee",
    "stamp_count": 4,
    "stamps_until_reward": 6,
    "points_balance": 310,
    "total_stamps_earned": 14,
    "stamps_redeemed": 1,
    "total_points_earned": 410,
    "points_redeemed": 100,
    "is_active": True,
    "deactivated_at": None,
    "deactivation_reason": "",
    "enrolled_store": "demo-center",
    "created_at": "2026-02-14T10:02:11+01:00",
    "last_stamp_at": AT,
    "last_points_at": AT,
    "last_redemption_at": "2026-03-01T12:00:00+01:00",
    "last_activity_at": AT,
    "wallet": WALLET,
}
REWARDS = [
    {"id": 1, "name": "Croissant", "description": "", "points_required": 100, "is_active": True, "position": 0},
    {"id": 2, "name": "Cappuccino", "description": "", "points_required": 250, "is_active": True, "position": 1},
]
PROGRAM = {
    "id": 1,
    "name": "Demo Café Card",
    "loyalty_type": "hybrid",
    "stamps_target": 10,
    "stamps_reward_description": "Free coffee",
    "points_per_euro": 10,
    "minimum_purchase_cents": 0,
    "points_expiration_days": None,
    "cooldown_minutes": 15,
    "max_daily_stamps": 5,
    "require_staff_pin": True,
    "background_color": "#5B3A29",
    "text_color": "#FFFFFF",
    "logo_url": None,
    "terms_text": "One stamp per hot drink.",
    "privacy_url": "https://example.com/privacy",
    "is_active": True,
    "rewards": REWARDS,
    "created_at": "2026-01-02T09:00:00+01:00",
    "updated_at": "2026-01-02T09:00:00+01:00",
}
PROGRAM_WRITE = {
    "name": "Demo Café Card",
    "loyalty_type": "hybrid",
    "stamps_target": 10,
    "stamps_reward_description": "Free coffee",
    "points_per_euro": 10,
    "require_staff_pin": True,
}
SCANNER = {
    "card": CARD_SUMMARY,
    "program": CARD_PROGRAM,
    "balances": {"stamp_count": 4, "stamps_target": 10, "stamps_until_reward": 6, "points_balance": 310},
    "can_stamp": False,
    "cooldown_ends_at": NEXT,
    "stamps_today": 1,
    "max_daily_stamps": 5,
    "can_redeem_stamps": False,
    "available_rewards": [
        {"id": 1, "name": "Croissant", "points_required": 100},
        {"id": 2, "name": "Cappuccino", "points_required": 250},
    ],
    "has_open_alert": False,
}
TRANSACTION = {
    "id": 1234,
    "card_id": 42,
    "card_number": "482915736204",
    "type": "POINTS_EARNED",
    "stamps_delta": 0,
    "points_delta": 45,
    "stamp_balance_after": 4,
    "points_balance_after": 310,
    "purchase_amount_cents": 450,
    "order_reference": "POS-2026-000123",
    "reward_id": None,
    "reward_name": None,
    "voided_transaction_id": None,
    "store": "demo-station",
    "staff_name": "Sam (till 2)",
    "notes": "",
    "created_at": AT,
}
PIN = {
    "id": 3,
    "name": "Sam (till 2)",
    "staff_number": "S-02",
    "store": "demo-station",
    "is_active": True,
    "is_locked": False,
    "locked_until": None,
    "failed_attempts": 0,
    "last_used_at": AT,
    "created_at": "2026-01-02T09:00:00+01:00",
    "updated_at": AT,
}
FIGURES = {
    "cards_total": 9,
    "cards_active_30d": 9,
    "cards_new_this_month": 4,
    "stamps_issued": 54,
    "stamps_voided": 0,
    "stamp_rewards_redeemed": 2,
    "points_issued": 3120,
    "points_redeemed": 700,
    "points_voided": 0,
    "points_expired": 0,
    "points_outstanding": 2420,
    "stamps_outstanding": 34,
    "transactions_7d": 31,
    "transactions_30d": 120,
    "rewards_redeemed_this_month": 3,
}
DAILY = [{"date": "2026-03-14", "stamps": 6, "points": 410, "enrollments": 1, "redemptions": 1}]
STORES = [
    {
        "store_code": "demo-center",
        "store_name": "Demo Café — Centre",
        "cards_enrolled": 5,
        "stamps_30d": 30,
        "points_30d": 1800,
        "enrollments_30d": 5,
        "transactions_30d": 70,
    }
]
PROGRAM_STATS = {
    "program_id": 1,
    "program_name": "Demo Café Card",
    "loyalty_type": "hybrid",
    **FIGURES,
    "daily": DAILY,
    "stores": STORES,
}
MERCHANT_STATS = {
    "merchant_id": 1,
    "merchant_name": "Demo Café",
    "stores_total": 2,
    "customers_total": 9,
    **FIGURES,
    "daily": DAILY,
    "stores": STORES,
}
PLATFORM_STATS = {"merchants_total": 2, "merchants_active": 2, "stores_total": 3, "programs_active": 2, **FIGURES}
MERCHANT = {
    "id": 1,
    "name": "Demo Café",
    "slug": "demo-cafe",
    "contact_email": "hello@demo-cafe.example.com",
    "website": "",
    "is_active": True,
    "stores_total": 2,
    "has_program": True,
    "created_at": "2026-01-02T09:00:00+01:00",
}
STOREFRONT = {
    "store": {"code": "demo-center", "name": "Demo Café — Centre", "address": "12 Grand-Rue, Luxembourg"},
    "merchant": {"name": "Demo Café"},
    "program": {
        "name": "Demo Café Card",
        "loyalty_type": "hybrid",
        "background_color": "#5B3A29",
        "text_color": "#FFFFFF",
        "logo_url": None,
        "stamps_target": 10,
        "stamps_reward_description": "Free coffee",
        "points_per_euro": 10,
        "rewards": [{"name": "Croissant", "description": "", "points_required": 100}],
        "terms_text": "One stamp per hot drink.",
        "privacy_url": "https://example.com/privacy",
    },
    "enrollment_open": True,
}


def request(value, name="Request", **kwargs) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True, **kwargs)


def response(value, name="Response", status_codes=("200",), **kwargs) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(status_codes), **kwargs)
