from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.models import LoyaltyCard, TenantQuerySet


class ApplePass(models.Model):
    """A card's Apple Wallet pass: its serial, its device auth token, its change tag.

    ``serial_number`` and ``authentication_token`` are random and stable per
    card. ``change_tag`` orders changes exactly (a microsecond timestamp
    serialised as an integer string); ``passesUpdatedSince`` compares it.
    """

    MERCHANT_LOOKUP = "card__merchant"

    card = models.OneToOneField(LoyaltyCard, on_delete=models.PROTECT, related_name="apple_pass")
    serial_number = models.CharField(max_length=64, unique=True)
    authentication_token = models.CharField(max_length=64)
    change_tag = models.BigIntegerField(default=0, db_index=True)
    changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("Apple Wallet pass")
        verbose_name_plural = _("Apple Wallet passes")

    def __str__(self):
        return self.serial_number


class AppleDeviceRegistration(models.Model):
    """A device that added a pass and wants pushes (PassKit web service)."""

    MERCHANT_LOOKUP = "apple_pass__card__merchant"

    apple_pass = models.ForeignKey(ApplePass, on_delete=models.CASCADE, related_name="registrations")
    device_library_identifier = models.CharField(max_length=128)
    push_token = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when APNs answered 410 Unregistered; the weekly prune deletes these.
    unregistered_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("Apple device registration")
        verbose_name_plural = _("Apple device registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["device_library_identifier", "apple_pass"], name="apple_registration_one_per_device_pass"
            ),
        ]
        indexes = [models.Index(fields=["device_library_identifier"], name="apple_registration_device_idx")]
