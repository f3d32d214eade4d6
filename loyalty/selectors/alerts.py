"""Reads of the fraud alerts, and who sees which.

Owners see every alert of their merchant. A manager sees the alerts of the
stores of their membership, except those about themselves (a void rate or a
large adjustment of their own user goes to the owners only); an alert tied
to no store (a staff member's user who works at several) is for owners only.
"""

from django.db.models import QuerySet

from loyalty.models import Alert, AlertStatus, Merchant, Store


def alerts_visible_to(alerts: QuerySet, *, user, role: str | None) -> QuerySet:
    """``alerts`` (already narrowed to one merchant) narrowed to those ``user`` in ``role`` may see and review."""
    if role is None or role == "owner":
        return alerts
    if role != "manager":
        return alerts.none()
    their_stores = Store.objects.filter(memberships__user=user, memberships__is_active=True)
    return alerts.filter(store__in=their_stores).exclude(user=user)


def alerts_open_count(*, merchant: Merchant, user=None, role: str | None = None) -> int:
    alerts = Alert.objects.for_merchant(merchant).filter(status=AlertStatus.OPEN)
    return alerts_visible_to(alerts, user=user, role=role).count()
