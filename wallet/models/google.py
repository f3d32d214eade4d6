from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.models import LoyaltyCard, Program, TenantQuerySet


class GoogleWalletClass(models.Model):
    """The LoyaltyClass of a program; ``last_payload`` is what Google last accepted."""

    MERCHANT_LOOKUP = "program__merchant"

    program = models.OneToOneField(Program, on_delete=models.PROTECT, related_name="google_class")
    class_id = models.CharField(max_length=255, unique=True)
    last_payload = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("Google Wallet class")
        verbose_name_plural = _("Google Wallet classes")

    def __str__(self):
        return self.class_id


class GoogleWalletObject(models.Model):
    """The LoyaltyObject of a card; ``last_payload`` lets updates PATCH only what changed."""

    MERCHANT_LOOKUP = "card__merchant"

    card = models.OneToOneField(LoyaltyCard, on_delete=models.PROTECT, related_name="google_object")
    object_id = models.CharField(max_length=255, unique=True)
    last_payload = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("Google Wallet object")
        verbose_name_plural = _("Google Wallet objects")

    def __str__(self):
        return self.object_id
