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


class GoogleWalletMessage(models.Model):
    """A message Google accepted on a class (every pass of a program) or on one object (one pass).

    Kept to count notifications: Google alerts a pass at most three times in
    24 hours, so a message is sent ``TEXT_AND_NOTIFY`` only while the pass
    (its own messages plus its class's) has had fewer than three
    notifications in that time, and ``TEXT`` after. ``message_id`` is unique
    per class or object: a resumed sending never adds the same message twice.
    """

    google_class = models.ForeignKey(
        GoogleWalletClass, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    google_object = models.ForeignKey(
        GoogleWalletObject, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    message_id = models.CharField(max_length=100)
    notified = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("Google Wallet message")
        verbose_name_plural = _("Google Wallet messages")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(google_class__isnull=True) ^ models.Q(google_object__isnull=True),
                name="google_message_on_class_or_object",
            ),
            models.UniqueConstraint(
                fields=["google_class", "message_id"],
                condition=models.Q(google_class__isnull=False),
                name="google_class_message_once",
            ),
            models.UniqueConstraint(
                fields=["google_object", "message_id"],
                condition=models.Q(google_object__isnull=False),
                name="google_object_message_once",
            ),
        ]

    def __str__(self):
        return self.message_id
