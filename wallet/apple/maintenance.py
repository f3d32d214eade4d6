"""Housekeeping of Apple device registrations."""

from datetime import datetime, timedelta

from django.utils import timezone

from wallet.models import AppleDeviceRegistration

# A device that APNs called unregistered may still come back (a restored
# phone re-registers with a new token, which revives the row): keep the row a
# day so such a revival is not raced by the prune.
GRACE = timedelta(days=1)


def apple_registrations_prune(*, now: datetime | None = None) -> int:
    """Delete registrations whose push token APNs reported as unregistered (410). Returns how many."""
    cutoff = (now or timezone.now()) - GRACE
    deleted, _by_model = AppleDeviceRegistration.objects.filter(unregistered_at__lte=cutoff).delete()
    return deleted
