"""The fraud-alert detector and the review of its findings.

``alerts_detect`` reads a bounded slice of the ledger (the store-local days
and the 7-day staff windows that the last ``lookback`` touches, through the
``(merchant, type, created_at)`` index), turns each rule's findings into
``Alert`` rows and inserts them with "ignore conflicts" on the unique
(merchant, rule, subject, window) key. Running it twice, or two runs at
once, raise each finding once; an alert that was dismissed stays dismissed
because the same finding is never inserted again. It only reads the ledger
and writes alerts: no card is locked, so a till operation never waits for it.

Rules (thresholds and off switches in ``MerchantSettings``):

* busy card: a card with more than N earning operations (stamps earned,
  points earned) in one store-local calendar day; one alert per card and day.
* large adjustment: a points adjustment adding or removing more than N points;
  one alert per ledger row.
* void rate: a staff member (their PIN, or their user when no PIN was used)
  whose voids are more than Y% of their operations (earn, redeem, void) in
  the 7 store-local days ending today, with at least a minimum of operations.
* staff favourite: a staff member who gave more than X% of their earning
  operations of the last 7 store-local days to one card, over a minimum.
* out of hours: a staff member who made more than N earning operations (default 0: any) at a store while it was
  closed by its opening hours (``StoreOpeningHours``), in one store-local
  day; one alert per store, staff member and day. A store without opening
  hours is never judged.
* PIN guessing: a staff PIN or a whole store locked out by the PIN guard
  (``staff.services.pins``); one alert per lockout, raised as the lockout
  happens (after its commit) and caught up by the detector; and a store
  locked out N times (default 3) in one store-local day, one alert per
  store and day.
* enrollment burst: more than N cards enrolled from one IP address at one
  store within one clock hour (UTC), whatever the channel (pages, public
  API, till); one alert per store, address and hour.

The two 7-day rules raise a subject at most once per 7 days: a finding is
skipped while an alert of the same rule and subject has a window that
overlaps the new one.
"""

import logging
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from loyalty.domain.actors import Actor
from loyalty.exceptions import AlertAlreadyReviewed, AlertNotFound, PermissionDenied, ValidationFailed
from loyalty.models import (
    Alert,
    AlertRule,
    AlertSeverity,
    AlertStatus,
    LoyaltyTransaction,
    Merchant,
    MerchantSettings,
    Store,
    TransactionType,
)
from loyalty.selectors.alerts import alerts_visible_to
from loyalty.selectors.opening_hours import out_of_hours_filter, store_hours_for_merchant
from loyalty.selectors.settings import merchant_settings_get

logger = logging.getLogger(__name__)

DEFAULT_LOOKBACK = timedelta(days=1)
STAFF_WINDOW_DAYS = 7
# Evidence stays a small JSON: counts, and the ids of at most this many ledger rows.
EVIDENCE_MAX_IDS = 50

EARNING_TYPES = (TransactionType.STAMP_EARNED, TransactionType.POINTS_EARNED)
VOID_TYPES = (TransactionType.STAMP_VOIDED, TransactionType.POINTS_VOIDED)
STAFF_OPERATION_TYPES = (
    *EARNING_TYPES,
    TransactionType.STAMP_REDEEMED,
    TransactionType.POINTS_REDEEMED,
    *VOID_TYPES,
)


def day_bounds(day: date, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """A local calendar day as an aware [start, end) pair; 23 or 25 hours long on DST changes."""
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )


def merchant_zone(merchant: Merchant) -> zoneinfo.ZoneInfo:
    """The zone of the merchant's first store: where its 7-day staff windows start and end."""
    zone_name = Store.objects.for_merchant(merchant).order_by("pk").values_list("timezone", flat=True).first()
    return zoneinfo.ZoneInfo(zone_name or settings.TIME_ZONE)


def _staff_key(staff_pin_id: int | None, acting_user_id: int | None) -> str | None:
    if staff_pin_id is not None:
        return f"pin:{staff_pin_id}"
    if acting_user_id is not None:
        return f"user:{acting_user_id}"
    return None  # the system (imports, expiry): nobody to hold accountable


def _ids(queryset) -> list[int]:
    return list(queryset.order_by("created_at", "pk").values_list("pk", flat=True)[:EVIDENCE_MAX_IDS])


def _busy_cards(*, merchant: Merchant, rules: MerchantSettings, since: datetime, now: datetime) -> list[Alert]:
    limit = rules.alert_busy_card_max_operations
    store_ids_by_zone = defaultdict(list)
    for store_id, zone_name in Store.objects.for_merchant(merchant).values_list("pk", "timezone"):
        store_ids_by_zone[zone_name].append(store_id)
    found = []
    for zone_name, store_ids in store_ids_by_zone.items():
        zone = zoneinfo.ZoneInfo(zone_name)
        day, last_day = since.astimezone(zone).date(), now.astimezone(zone).date()
        while day <= last_day:
            start, end = day_bounds(day, zone)
            rows = LoyaltyTransaction.objects.filter(
                merchant=merchant, type__in=EARNING_TYPES, store_id__in=store_ids, created_at__gte=start
            ).filter(created_at__lt=end, created_at__lte=now)
            busy = rows.order_by().values("card_id").annotate(operations=Count("pk")).filter(operations__gt=limit)
            for entry in busy:
                card_rows = rows.filter(card_id=entry["card_id"])
                last = card_rows.order_by("-created_at", "-pk").values("store_id", "staff_pin_id").first()
                found.append(
                    Alert(
                        merchant=merchant,
                        rule=AlertRule.BUSY_CARD,
                        severity=AlertSeverity.MEDIUM,
                        card_id=entry["card_id"],
                        store_id=last["store_id"],
                        subject_key=f"card:{entry['card_id']}",
                        window_start_at=start,
                        window_end_at=end,
                        evidence={
                            "operations": entry["operations"],
                            "limit": limit,
                            "transaction_ids": _ids(card_rows),
                        },
                    )
                )
            day += timedelta(days=1)
    return found


def _out_of_hours(*, merchant: Merchant, rules: MerchantSettings, since: datetime, now: datetime) -> list[Alert]:
    limit = rules.alert_out_of_hours_max_operations
    hours = store_hours_for_merchant(merchant=merchant)
    zones = defaultdict(dict)
    for store_id, store_hours in hours.items():
        zones[store_hours.zone.key][store_id] = store_hours
    found = []
    for zone_name, zone_hours in zones.items():
        zone = zoneinfo.ZoneInfo(zone_name)
        day, last_day = since.astimezone(zone).date(), now.astimezone(zone).date()
        while day <= last_day:
            start, end = day_bounds(day, zone)
            closed = out_of_hours_filter(hours=zone_hours, start=start, end=min(end, now + timedelta(microseconds=1)))
            day += timedelta(days=1)
            if closed is None:
                continue
            rows = LoyaltyTransaction.objects.filter(closed, merchant=merchant, type__in=EARNING_TYPES)
            grouped = (
                rows.order_by()
                .values("store_id", "staff_pin_id", "acting_user_id")
                .annotate(operations=Count("pk"))
                .filter(operations__gt=limit)
            )
            for entry in grouped:
                key = _staff_key(entry["staff_pin_id"], entry["acting_user_id"])
                if key is None:
                    continue  # the system (imports): nobody to hold accountable
                subject_rows = _staff_rows(rows.filter(store_id=entry["store_id"]), key)
                found.append(
                    Alert(
                        merchant=merchant,
                        rule=AlertRule.OUT_OF_HOURS,
                        severity=AlertSeverity.MEDIUM,
                        store_id=entry["store_id"],
                        subject_key=f"store:{entry['store_id']}:{key}",
                        window_start_at=start,
                        window_end_at=end,
                        evidence={
                            "operations": entry["operations"],
                            "limit": limit,
                            "transaction_ids": _ids(subject_rows),
                        },
                        **_staff_subject_fields(key),
                    )
                )
    return found


def _large_adjustments(*, merchant: Merchant, rules: MerchantSettings, since: datetime, now: datetime) -> list[Alert]:
    limit = rules.alert_large_adjustment_points
    rows = LoyaltyTransaction.objects.filter(
        merchant=merchant, type=TransactionType.POINTS_ADJUSTED, created_at__gte=since, created_at__lte=now
    ).filter(Q(points_delta__gt=limit) | Q(points_delta__lt=-limit))
    return [
        Alert(
            merchant=merchant,
            rule=AlertRule.LARGE_ADJUSTMENT,
            severity=AlertSeverity.HIGH,
            card_id=row.card_id,
            user_id=row.acting_user_id,
            staff_pin_id=row.staff_pin_id,
            store_id=row.store_id,
            ip_address=row.ip_address,
            subject_key=f"transaction:{row.pk}",
            window_start_at=row.created_at,
            window_end_at=row.created_at,
            evidence={"points_delta": row.points_delta, "limit": limit, "transaction_ids": [row.pk]},
        )
        for row in rows.order_by("created_at", "pk").only(
            "pk", "card_id", "acting_user_id", "staff_pin_id", "store_id", "ip_address", "points_delta", "created_at"
        )
    ]


def _staff_window(*, merchant: Merchant, now: datetime) -> tuple[datetime, datetime]:
    zone = merchant_zone(merchant)
    today = now.astimezone(zone).date()
    start, _ = day_bounds(today - timedelta(days=STAFF_WINDOW_DAYS - 1), zone)
    _, end = day_bounds(today, zone)
    return start, end


def _staff_subject_fields(key: str) -> dict:
    kind, _, identifier = key.partition(":")
    return {"staff_pin_id": int(identifier)} if kind == "pin" else {"user_id": int(identifier)}


def _staff_rows(queryset, key: str):
    fields = _staff_subject_fields(key)
    if "staff_pin_id" in fields:
        return queryset.filter(staff_pin_id=fields["staff_pin_id"])
    return queryset.filter(staff_pin__isnull=True, acting_user_id=fields["user_id"])


def _void_rates(*, merchant: Merchant, rules: MerchantSettings, now: datetime) -> list[Alert]:
    start, end = _staff_window(merchant=merchant, now=now)
    rows = LoyaltyTransaction.objects.filter(
        merchant=merchant, type__in=STAFF_OPERATION_TYPES, created_at__gte=start, created_at__lte=now
    )
    totals = defaultdict(lambda: [0, 0])  # staff key -> [operations, voids]
    grouped = (
        rows.order_by()
        .values("staff_pin_id", "acting_user_id")
        .annotate(operations=Count("pk"), voids=Count("pk", filter=Q(type__in=VOID_TYPES)))
    )
    for entry in grouped:
        key = _staff_key(entry["staff_pin_id"], entry["acting_user_id"])
        if key is not None:
            totals[key][0] += entry["operations"]
            totals[key][1] += entry["voids"]
    found = []
    for key, (operations, voids) in sorted(totals.items()):
        if (
            operations < rules.alert_void_rate_min_operations
            or voids * 100 <= rules.alert_void_rate_percent * operations
        ):
            continue
        staff_rows = _staff_rows(rows, key)
        found.append(
            Alert(
                merchant=merchant,
                rule=AlertRule.VOID_RATE,
                severity=AlertSeverity.MEDIUM,
                store_id=staff_rows.order_by("-created_at", "-pk").values_list("store_id", flat=True).first(),
                subject_key=key,
                window_start_at=start,
                window_end_at=end,
                evidence={
                    "operations": operations,
                    "voids": voids,
                    "percent_limit": rules.alert_void_rate_percent,
                    "transaction_ids": _ids(staff_rows.filter(type__in=VOID_TYPES)),
                },
                **_staff_subject_fields(key),
            )
        )
    return found


def _staff_favourites(*, merchant: Merchant, rules: MerchantSettings, now: datetime) -> list[Alert]:
    start, end = _staff_window(merchant=merchant, now=now)
    rows = LoyaltyTransaction.objects.filter(
        merchant=merchant, type__in=EARNING_TYPES, created_at__gte=start, created_at__lte=now
    )
    per_card = defaultdict(lambda: defaultdict(int))  # staff key -> card id -> operations
    grouped = rows.order_by().values("staff_pin_id", "acting_user_id", "card_id").annotate(operations=Count("pk"))
    for entry in grouped:
        key = _staff_key(entry["staff_pin_id"], entry["acting_user_id"])
        if key is not None:
            per_card[key][entry["card_id"]] += entry["operations"]
    found = []
    for key, cards in sorted(per_card.items()):
        total = sum(cards.values())
        if total < rules.alert_staff_favourite_min_operations:
            continue
        for card_id, operations in sorted(cards.items()):
            if operations * 100 <= rules.alert_staff_favourite_percent * total:
                continue
            card_rows = _staff_rows(rows, key).filter(card_id=card_id)
            found.append(
                Alert(
                    merchant=merchant,
                    rule=AlertRule.STAFF_FAVOURITE,
                    severity=AlertSeverity.HIGH,
                    card_id=card_id,
                    store_id=card_rows.order_by("-created_at", "-pk").values_list("store_id", flat=True).first(),
                    subject_key=f"{key}:card:{card_id}",
                    window_start_at=start,
                    window_end_at=end,
                    evidence={
                        "operations": total,
                        "card_operations": operations,
                        "percent_limit": rules.alert_staff_favourite_percent,
                        "transaction_ids": _ids(card_rows),
                    },
                    **_staff_subject_fields(key),
                )
            )
    return found


def _lockout_alerts(*, merchant: Merchant, rules: MerchantSettings, lockouts) -> list[Alert]:
    """One alert per lockout, and one per store and local day once the store's lockouts of that day reach N."""
    from staff.models import PinLockout  # staff depends on loyalty's models; import late

    found, store_days = [], set()
    for lockout in lockouts:
        locked = "pin" if lockout.staff_pin_id else "store"
        found.append(
            Alert(
                merchant=merchant,
                rule=AlertRule.PIN_GUESSING,
                severity=AlertSeverity.HIGH,
                staff_pin_id=lockout.staff_pin_id,
                store_id=lockout.store_id,
                subject_key=f"pin:{lockout.staff_pin_id}" if lockout.staff_pin_id else f"store:{lockout.store_id}",
                window_start_at=lockout.locked_at,
                window_end_at=lockout.locked_until,
                evidence={"locked": locked, "failed_attempts": lockout.failed_attempts},
            )
        )
        if not lockout.staff_pin_id:
            zone = lockout.store.zone
            store_days.add((lockout.store_id, zone.key, lockout.locked_at.astimezone(zone).date()))
    for store_id, zone_name, day in sorted(store_days):
        start, end = day_bounds(day, zoneinfo.ZoneInfo(zone_name))
        times = PinLockout.objects.filter(
            store_id=store_id, staff_pin__isnull=True, locked_at__gte=start, locked_at__lt=end
        ).count()
        if times >= rules.alert_store_lockouts_per_day:
            found.append(
                Alert(
                    merchant=merchant,
                    rule=AlertRule.PIN_GUESSING,
                    severity=AlertSeverity.HIGH,
                    store_id=store_id,
                    subject_key=f"store:{store_id}:lockouts",
                    window_start_at=start,
                    window_end_at=end,
                    evidence={"lockouts": times, "limit": rules.alert_store_lockouts_per_day},
                )
            )
    return found


def _pin_lockouts(*, merchant: Merchant, rules: MerchantSettings, since: datetime, now: datetime) -> list[Alert]:
    """The PIN guard's lockouts (``staff.models.PinLockout``) in force during the lookback.

    Each is raised the moment it happens (:func:`alerts_lockout_raise`); the
    detector catches up on any whose raise did not run (a crash between the
    commit and the raise).
    """
    from staff.models import PinLockout  # staff depends on loyalty's models; import late

    lockouts = (
        PinLockout.objects.for_merchant(merchant)
        .filter(locked_until__gt=since, locked_at__lte=now)
        .select_related("store")
        .order_by("locked_at", "pk")
    )
    return _lockout_alerts(merchant=merchant, rules=rules, lockouts=lockouts)


def _enrollment_bursts(*, merchant: Merchant, rules: MerchantSettings, since: datetime, now: datetime) -> list[Alert]:
    """More than N cards enrolled from one IP address at one store within one clock hour (UTC)."""
    limit = rules.alert_enrollment_burst_max_enrollments
    first_hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rows = LoyaltyTransaction.objects.filter(
        merchant=merchant,
        type=TransactionType.CARD_ENROLLED,
        created_at__gte=first_hour,
        created_at__lte=now,
        ip_address__isnull=False,
        store__isnull=False,
    )
    bursts = (
        rows.order_by()
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("store_id", "ip_address", "hour")
        .annotate(enrollments=Count("pk"))
        .filter(enrollments__gt=limit)
    )
    found = []
    for entry in bursts:
        start = entry["hour"]
        end = start + timedelta(hours=1)
        burst_rows = rows.filter(
            store_id=entry["store_id"], ip_address=entry["ip_address"], created_at__gte=start, created_at__lt=end
        )
        found.append(
            Alert(
                merchant=merchant,
                rule=AlertRule.ENROLLMENT_BURST,
                severity=AlertSeverity.MEDIUM,
                store_id=entry["store_id"],
                ip_address=entry["ip_address"],
                subject_key=f"store:{entry['store_id']}:ip:{entry['ip_address']}",
                window_start_at=start,
                window_end_at=end,
                evidence={
                    "enrollments": entry["enrollments"],
                    "limit": limit,
                    "transaction_ids": _ids(burst_rows),
                },
            )
        )
    return found


def _without_overlapping(found: list[Alert], *, merchant: Merchant, rule: str) -> list[Alert]:
    """Drop findings whose subject already has an alert of this rule with an overlapping window."""
    if not found:
        return found
    earliest_start = min(alert.window_start_at for alert in found)
    known = defaultdict(list)
    for subject_key, window_end_at in (
        Alert.objects.for_merchant(merchant)
        .filter(rule=rule, window_end_at__gt=earliest_start, subject_key__in=[alert.subject_key for alert in found])
        .values_list("subject_key", "window_end_at")
    ):
        known[subject_key].append(window_end_at)
    return [
        alert
        for alert in found
        if not any(window_end_at > alert.window_start_at for window_end_at in known[alert.subject_key])
    ]


def _finding_key(alert: Alert) -> tuple:
    return (alert.rule, alert.subject_key, alert.window_start_at, alert.window_end_at)


def alerts_detect(
    *, merchant: Merchant, now: datetime | None = None, lookback: timedelta = DEFAULT_LOOKBACK
) -> list[Alert]:
    """Raise the merchant's new findings; the alerts created by this run (none twice, across runs)."""
    now = now or timezone.now()
    since = now - lookback
    rules = merchant_settings_get(merchant=merchant)
    found = []
    if rules.alert_busy_card_enabled:
        found += _busy_cards(merchant=merchant, rules=rules, since=since, now=now)
    if rules.alert_out_of_hours_enabled:
        found += _out_of_hours(merchant=merchant, rules=rules, since=since, now=now)
    if rules.alert_large_adjustment_enabled:
        found += _large_adjustments(merchant=merchant, rules=rules, since=since, now=now)
    if rules.alert_void_rate_enabled:
        found += _without_overlapping(
            _void_rates(merchant=merchant, rules=rules, now=now), merchant=merchant, rule=AlertRule.VOID_RATE
        )
    if rules.alert_staff_favourite_enabled:
        found += _without_overlapping(
            _staff_favourites(merchant=merchant, rules=rules, now=now),
            merchant=merchant,
            rule=AlertRule.STAFF_FAVOURITE,
        )
    if rules.alert_pin_guessing_enabled:
        found += _pin_lockouts(merchant=merchant, rules=rules, since=since, now=now)
    if rules.alert_enrollment_burst_enabled:
        found += _enrollment_bursts(merchant=merchant, rules=rules, since=since, now=now)
    return _insert_new(merchant=merchant, found=found, now=now)


def _insert_new(*, merchant: Merchant, found: list[Alert], now: datetime) -> list[Alert]:
    """Insert the findings not raised before; the alerts this call created."""
    if not found:
        return []
    existing = set(
        Alert.objects.for_merchant(merchant)
        .filter(
            subject_key__in={alert.subject_key for alert in found},
            window_start_at__gte=min(alert.window_start_at for alert in found),
        )
        .values_list("rule", "subject_key", "window_start_at", "window_end_at")
    )
    new = [alert for alert in found if _finding_key(alert) not in existing]
    for alert in new:
        alert.created_at = now
    # A run that overlaps this one may insert the same findings first: the unique key keeps one.
    Alert.objects.bulk_create(new, ignore_conflicts=True)
    keys = {_finding_key(alert) for alert in new}
    return [
        alert
        for alert in Alert.objects.for_merchant(merchant).filter(
            subject_key__in={alert.subject_key for alert in new}, created_at=now
        )
        if _finding_key(alert) in keys
    ]


def alerts_lockout_raise(*, lockout_id: int) -> list[Alert]:
    """Raise the alerts of one PIN guard lockout as it happens (``staff.services.pins``, after its commit).

    Never slows the till beyond its own few statements, and never fails it:
    what goes wrong here is logged, and the next detector run catches up.
    """
    from staff.models import PinLockout  # staff depends on loyalty's models; import late

    try:
        with transaction.atomic():
            lockout = PinLockout.objects.select_related("store__merchant").filter(pk=lockout_id).first()
            if lockout is None:
                return []
            merchant = lockout.store.merchant
            rules = merchant_settings_get(merchant=merchant)
            if not rules.alert_pin_guessing_enabled:
                return []
            found = _lockout_alerts(merchant=merchant, rules=rules, lockouts=[lockout])
            return _insert_new(merchant=merchant, found=found, now=timezone.now())
    except Exception:  # an alert must never turn a refused PIN into a server error
        logger.exception("alerts.lockout_raise_failed", extra={"lockout_id": lockout_id})
        return []


@dataclass(frozen=True)
class AlertsDetected:
    merchants: int
    alerts: int


def alerts_detect_all(*, now: datetime | None = None, lookback: timedelta = DEFAULT_LOOKBACK) -> AlertsDetected:
    """Run the detector for every active merchant, one merchant's findings committed at a time.

    Each run rereads the last ``lookback`` (a day by default), so a run missed
    while the workers were down is caught up by the next, and overlapping
    runs insert each finding once.
    """
    now = now or timezone.now()
    merchants = alerts = 0
    for merchant in Merchant.objects.filter(is_active=True).order_by("pk").iterator():
        with transaction.atomic():
            alerts += len(alerts_detect(merchant=merchant, now=now, lookback=lookback))
        merchants += 1
    return AlertsDetected(merchants=merchants, alerts=alerts)


@dataclass(frozen=True)
class AlertReviewed:
    alert: Alert
    previous_status: str


def _alert_review(*, actor: Actor, alert_id: int, status: str, reason: str) -> AlertReviewed:
    if not (actor.is_owner or actor.role == "manager"):
        raise PermissionDenied()
    alerts = alerts_visible_to(Alert.objects.for_merchant(actor.merchant), user=actor.user, role=actor.role)
    alert = alerts.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise AlertNotFound()
    if alert.status != AlertStatus.OPEN:
        raise AlertAlreadyReviewed(details={"status": alert.status})
    previous_status = alert.status
    alert.status = status
    alert.status_reason = reason
    alert.status_changed_by = actor.user
    alert.status_changed_at = timezone.now()
    alert.save(update_fields=["status", "status_reason", "status_changed_by", "status_changed_at"])
    return AlertReviewed(alert=alert, previous_status=previous_status)


@transaction.atomic
def alert_dismiss(*, actor: Actor, alert_id: int, reason: str) -> AlertReviewed:
    """An owner (or a manager, for the alerts they see) says the finding is not abuse; the reason is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(details={"reason": ["A reason is required to dismiss an alert."]})
    return _alert_review(actor=actor, alert_id=alert_id, status=AlertStatus.DISMISSED, reason=reason)


@transaction.atomic
def alert_confirm(*, actor: Actor, alert_id: int, reason: str = "") -> AlertReviewed:
    """An owner or manager says the finding is abuse (what they do about it is a card or PIN action of its own)."""
    return _alert_review(actor=actor, alert_id=alert_id, status=AlertStatus.CONFIRMED, reason=(reason or "").strip())
