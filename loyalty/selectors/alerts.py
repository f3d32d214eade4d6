"""Reads of the fraud alerts."""

from loyalty.models import Alert, AlertStatus, Merchant


def alerts_open_count(*, merchant: Merchant) -> int:
    return Alert.objects.for_merchant(merchant).filter(status=AlertStatus.OPEN).count()
