"""The weekly prune of Apple device registrations that APNs reported as unregistered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from wallet.apple.services import apple_pass_get_or_create
from wallet.models import AppleDeviceRegistration
from wallet.tasks import prune_device_registrations

pytestmark = pytest.mark.django_db


def test_prune_deletes_only_registrations_reported_unregistered_a_while_ago(card):
    apple_pass = apple_pass_get_or_create(card=card)
    now = timezone.now()
    gone = AppleDeviceRegistration.objects.create(
        apple_pass=apple_pass, device_library_identifier="device-gone", push_token="a" * 64,
        unregistered_at=now - timedelta(days=3),
    )
    fresh = AppleDeviceRegistration.objects.create(
        apple_pass=apple_pass, device_library_identifier="device-just-now", push_token="b" * 64,
        unregistered_at=now - timedelta(minutes=5),
    )
    live = AppleDeviceRegistration.objects.create(
        apple_pass=apple_pass, device_library_identifier="device-live", push_token="c" * 64
    )

    assert prune_device_registrations.delay().get() == 1

    remaining = set(AppleDeviceRegistration.objects.values_list("pk", flat=True))
    assert remaining == {fresh.pk, live.pk}
    assert gone.pk not in remaining
    assert prune_device_registrations.delay().get() == 0
