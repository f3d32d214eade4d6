"""The floor of a till operation: exactly the work a stamp or an earn must do, in hand-written SQL.

Issue #18 judges the till against these endpoints (README "Performance"):
they run on the same gunicorn as the feature, behind the same bare DRF view
as ``bench/constant`` (no DRF authentication, permission or throttle
classes), and do what the feature cannot avoid, through Django's connection
with no ORM model building and no serializer:

1. the token check by its digest, with every condition of
   ``staff.services.tokens.token_state`` (not revoked, not expired, user
   active, password unchanged, membership active at the store's merchant,
   store and merchant active, the store assigned unless owner) in one
   statement, the password fingerprint compared in Python;
2. the scan throttle's one cache increment, on the same cache and key;
3. ``BEGIN``, the card locked (``FOR UPDATE``) with its program, the rules
   (card and program active, cooldown, daily limit counted in the store's
   day; for an earn the order reference looked up), the card updated, the
   ledger row inserted with every column the service fills, ``COMMIT``;
4. a small JSON answer.

PostgreSQL only (the bench's database). Only ``bench/urls.py`` routes them.
"""

import hashlib
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_site.http import client_ip, user_agent
from loyalty_site.rate_limits import _key, _window, counter_increment, rate_parse, throttle_rate
from staff.services.tokens import password_fingerprint

TOKEN_SQL = """
SELECT t.id, t.user_id, t.store_id, s.merchant_id, s.timezone, t.password_fingerprint, u.password
FROM staff_apitoken t
JOIN auth_user u ON u.id = t.user_id
JOIN staff_membership m ON m.id = t.membership_id
JOIN loyalty_store s ON s.id = t.store_id
JOIN loyalty_merchant me ON me.id = s.merchant_id
WHERE t.key_digest = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %s)
  AND u.is_active AND m.is_active AND m.merchant_id = s.merchant_id AND s.is_active AND me.is_active
  AND (m.role = 'owner' OR EXISTS (
    SELECT 1 FROM staff_membership_stores ms WHERE ms.membership_id = m.id AND ms.store_id = s.id))
"""
CARD_SQL = """
SELECT c.id, c.is_active, c.stamp_count, c.points_balance, c.last_stamp_at,
       p.is_active, p.loyalty_type, p.cooldown_minutes, p.max_daily_stamps, p.stamps_target,
       p.points_per_euro, p.minimum_purchase_cents
FROM loyalty_loyaltycard c JOIN loyalty_program p ON p.id = c.program_id
WHERE c.id = %s AND c.merchant_id = %s
FOR UPDATE OF c
"""
STAMPS_TODAY_SQL = """
SELECT count(*) FROM loyalty_loyaltytransaction
WHERE card_id = %s AND type = 'STAMP_EARNED' AND created_at >= %s
"""
STAMP_UPDATE_SQL = """
UPDATE loyalty_loyaltycard
SET stamp_count = stamp_count + 1, total_stamps_earned = total_stamps_earned + 1,
    last_stamp_at = %s, last_activity_at = %s, updated_at = %s
WHERE id = %s
"""
EARNED_FOR_REFERENCE_SQL = """
SELECT id, card_id, purchase_amount_cents, points_delta FROM loyalty_loyaltytransaction
WHERE merchant_id = %s AND order_reference = %s AND type = 'POINTS_EARNED'
"""
POINTS_UPDATE_SQL = """
UPDATE loyalty_loyaltycard
SET points_balance = points_balance + %s, total_points_earned = total_points_earned + %s,
    last_points_at = %s, last_activity_at = %s, updated_at = %s
WHERE id = %s
"""
LEDGER_INSERT_SQL = """
INSERT INTO loyalty_loyaltytransaction (
  card_id, merchant_id, store_id, staff_pin_id, acting_user_id, type, stamps_delta, points_delta,
  stamp_balance_after, points_balance_after, purchase_amount_cents, order_reference, reward_id,
  voided_transaction_id, ip_address, user_agent, notes, created_at)
VALUES (%s, %s, %s, NULL, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL, %s, %s, '', %s)
RETURNING id
"""


def _refused(code: str, status: int) -> Response:
    return Response({"error": {"code": code, "message": code, "details": {}}}, status=status)


class FloorView(APIView):
    """A bare DRF view (as ``bench/constant``) that checks the token and counts the throttle itself."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def post(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Token "):
            return _refused("NOT_AUTHENTICATED", 401)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(TOKEN_SQL, [hashlib.sha256(header[6:].encode()).hexdigest(), now])
            row = cursor.fetchone()
            if row is None or not _password_unchanged(row[5], row[6]):
                return _refused("NOT_AUTHENTICATED", 401)
            token_id, user_id, store_id, merchant_id, zone, _fingerprint, _password = row
            rate = rate_parse(throttle_rate("scan"))
            window, _retry = _window(rate)
            count = counter_increment(
                _key("scan", f"token-{token_id}", rate, window), timeout=rate.period_seconds + 1
            )
            if count > rate.limit:
                return _refused("THROTTLED", 429)
            till = {"user_id": user_id, "store_id": store_id, "merchant_id": merchant_id, "zone": zone}
            return self.operate(request, cursor, till, now)

    def operate(self, request, cursor, till: dict, now: datetime) -> Response:
        raise NotImplementedError


def _password_unchanged(fingerprint: str, password_hash: str) -> bool:
    return any(
        constant_time_compare(fingerprint, password_fingerprint(password_hash, secret=secret))
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    )


def _card_locked(cursor, till: dict, card_id: int):
    """The card's row with its program's rules, locked until the transaction ends; None when not the merchant's."""
    cursor.execute(CARD_SQL, [card_id, till["merchant_id"]])
    return cursor.fetchone()


def _card_id(request) -> int | None:
    card_id = request.data.get("card_id") if isinstance(request.data, dict) else None
    return card_id if isinstance(card_id, int) else None


def _insert_ledger_row(cursor, request, till, *, card_id, type, stamps_delta=0, points_delta=0, stamp_balance,
                       points_balance, purchase_amount_cents=None, order_reference=None, now) -> int:
    cursor.execute(LEDGER_INSERT_SQL, [
        card_id, till["merchant_id"], till["store_id"], till["user_id"], type, stamps_delta, points_delta,
        stamp_balance, points_balance, purchase_amount_cents, order_reference, client_ip(request),
        user_agent(request)[:256], now,
    ])
    return cursor.fetchone()[0]


class StampFloorView(FloorView):
    def operate(self, request, cursor, till, now):
        card_id = _card_id(request)
        if card_id is None:
            return _refused("VALIDATION_ERROR", 400)
        local = now.astimezone(zoneinfo.ZoneInfo(till["zone"]))
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        with transaction.atomic():
            if (card := _card_locked(cursor, till, card_id)) is None:
                return _refused("CARD_NOT_FOUND", 404)
            (_id, card_active, stamp_count, points_balance, last_stamp_at,
             program_active, loyalty_type, cooldown_minutes, max_daily_stamps, stamps_target, *_points) = card
            if not program_active or loyalty_type not in ("stamps", "hybrid"):
                return _refused("PROGRAM_INACTIVE", 409)
            if not card_active:
                return _refused("CARD_INACTIVE", 409)
            if cooldown_minutes and last_stamp_at and now < last_stamp_at + timedelta(minutes=cooldown_minutes):
                return _refused("STAMP_COOLDOWN", 429)
            cursor.execute(STAMPS_TODAY_SQL, [card_id, day_start])
            today = cursor.fetchone()[0]
            if today >= max_daily_stamps:
                return _refused("DAILY_STAMP_LIMIT", 429)
            cursor.execute(STAMP_UPDATE_SQL, [now, now, now, card_id])
            transaction_id = _insert_ledger_row(
                cursor, request, till, card_id=card_id, type="STAMP_EARNED", stamps_delta=1,
                stamp_balance=stamp_count + 1, points_balance=points_balance, now=now,
            )
        return Response({
            "transaction_id": transaction_id, "card_id": card_id, "stamp_count": stamp_count + 1,
            "stamps_target": stamps_target, "stamps_today": today + 1, "max_daily_stamps": max_daily_stamps,
        }, status=201)


class EarnFloorView(FloorView):
    def operate(self, request, cursor, till, now):
        card_id = _card_id(request)
        amount = request.data.get("purchase_amount_cents") if isinstance(request.data, dict) else None
        if card_id is None or not isinstance(amount, int) or amount <= 0:
            return _refused("VALIDATION_ERROR", 400)
        reference = str(request.data.get("order_reference") or "").strip() or None
        with transaction.atomic():
            if (card := _card_locked(cursor, till, card_id)) is None:
                return _refused("CARD_NOT_FOUND", 404)
            (_id, card_active, _stamps, points_balance, _last_stamp,
             program_active, loyalty_type, *_stamp_rules, points_per_euro, minimum_purchase_cents) = card
            if not program_active or loyalty_type not in ("points", "hybrid"):
                return _refused("PROGRAM_INACTIVE", 409)
            if reference:
                cursor.execute(EARNED_FOR_REFERENCE_SQL, [till["merchant_id"], reference])
                original = cursor.fetchone()
                if original is not None:
                    if original[1] != card_id or original[2] != amount:
                        return _refused("IDEMPOTENCY_CONFLICT", 409)
                    return Response({"transaction_id": original[0], "card_id": card_id,
                                     "points_earned": original[3], "replayed": True})
            if not card_active:
                return _refused("CARD_INACTIVE", 409)
            if amount < minimum_purchase_cents:
                return _refused("BELOW_MINIMUM_PURCHASE", 400)
            points = amount * points_per_euro // 100
            cursor.execute(POINTS_UPDATE_SQL, [points, points, now, now, now, card_id])
            # The partial unique index on (merchant, order_reference) still guards a concurrent twin.
            transaction_id = _insert_ledger_row(
                cursor, request, till, card_id=card_id, type="POINTS_EARNED", points_delta=points,
                stamp_balance=_stamps, points_balance=points_balance + points, purchase_amount_cents=amount,
                order_reference=reference, now=now,
            )
        return Response({
            "transaction_id": transaction_id, "card_id": card_id, "points_earned": points,
            "points_balance": points_balance + points, "replayed": False,
        }, status=201)
