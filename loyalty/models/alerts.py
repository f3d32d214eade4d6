"""Fraud alerts: one row per finding of the detector (``loyalty.services.alerts``).

The same finding is never raised twice: ``subject_key`` names what the
finding is about (a card, a staff member, a ledger row) and the unique
constraint over (merchant, rule, subject, window) makes a second detection
of it a no-op, whatever became of the first (a dismissed alert stays
dismissed).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet
from .cards import LoyaltyCard
from .tenancy import Merchant, Store


class AlertRule(models.TextChoices):
    BUSY_CARD = "busy_card", _("Busy card")
    STAFF_FAVOURITE = "staff_favourite", _("Staff favourite")
    OUT_OF_HOURS = "out_of_hours", _("Out of hours")
    VOID_RATE = "void_rate", _("Void rate")
    LARGE_ADJUSTMENT = "large_adjustment", _("Large adjustment")
    PIN_GUESSING = "pin_guessing", _("PIN guessing")
    ENROLLMENT_BURST = "enrollment_burst", _("Enrollment burst")


class AlertSeverity(models.TextChoices):
    LOW = "low", _("low")
    MEDIUM = "medium", _("medium")
    HIGH = "high", _("high")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("open")
    DISMISSED = "dismissed", _("dismissed")
    CONFIRMED = "confirmed", _("confirmed")


class Alert(models.Model):
    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant"))
    rule = models.CharField(_("rule"), max_length=20, choices=AlertRule.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=AlertSeverity.choices)
    card = models.ForeignKey(
        LoyaltyCard, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts", verbose_name=_("card")
    )
    staff_pin = models.ForeignKey(
        "staff.StaffPin", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("staff PIN")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # What the finding is about, e.g. "card:12" or "pin:3:card:12": part of the unique key.
    subject_key = models.CharField(max_length=100)
    window_start_at = models.DateTimeField(_("window start"))
    window_end_at = models.DateTimeField(_("window end"))
    # Small and bounded: counts and at most ``EVIDENCE_MAX_IDS`` ledger row ids.
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    status_reason = models.TextField(_("reason"), blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("status changed by"),
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        # Alerts are made by the detector and reviewed through actions, never edited in a form.
        default_permissions = ("view", "change")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "rule", "subject_key", "window_start_at", "window_end_at"],
                name="alert_one_per_finding",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "-created_at"], name="alert_merchant_status_idx"),
            models.Index(fields=["card", "status"], name="alert_card_status_idx"),
            models.Index(fields=["merchant", "rule", "-window_end_at"], name="alert_merchant_rule_window_idx"),
        ]

    def __str__(self):
        return f"{self.get_rule_display()} #{self.pk}"


class AlertDigestSent(models.Model):
    """The daily alert e-mail of one recipient for one day: claimed (inserted) before it is sent.

    The unique (user, day) key is what makes the hourly digest job send each
    recipient at most one e-mail per day, however many runs overlap.
    """

    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The merchant-local day whose alerts the e-mail lists.")
    alerts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="alert_digest_one_per_user_day")]
