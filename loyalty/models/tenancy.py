import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet, TimestampedModel


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Merchant(TimestampedModel):
    """A business: the unit of tenancy. Everything else belongs to one merchant."""

    MERCHANT_LOOKUP = "pk"

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self):
        return self.name


class Store(TimestampedModel):
    """A location of a merchant. Its ``code`` is public (enrollment URLs)."""

    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="stores", verbose_name=_("merchant"))
    code = models.SlugField(_("code"), max_length=64, unique=True, help_text=_("Used in the enrollment link."))
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Europe/Luxembourg",
        validators=[validate_timezone],
        help_text=_("Daily stamp limits count in this zone's calendar day."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["merchant__name", "name"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.timezone)


class Customer(TimestampedModel):
    """A person enrolled with one merchant; the same customer at all its stores."""

    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="customers", verbose_name=_("merchant")
    )
    email = models.EmailField(_("e-mail"), max_length=254)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    marketing_consent_at = models.DateTimeField(_("marketing consent given at"), null=True, blank=True)
    marketing_consent_withdrawn_at = models.DateTimeField(
        _("marketing consent withdrawn at"), null=True, blank=True
    )
    terms_accepted_at = models.DateTimeField(_("terms accepted at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(Lower("email"), "merchant", name="customer_email_unique_per_merchant"),
        ]
        indexes = [
            models.Index(fields=["merchant", "full_name"], name="customer_merchant_name_idx"),
        ]

    def __str__(self):
        return self.full_name or self.email


class MerchantSettings(TimestampedModel):
    """Per-merchant knobs; an empty value falls back to the global setting.

    Read through ``loyalty.selectors.settings.merchant_settings_get`` which
    get-or-creates the row (unique per merchant, so concurrency cannot
    duplicate it).
    """

    MERCHANT_LOOKUP = "merchant"

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, related_name="loyalty_settings", verbose_name=_("merchant")
    )
    pin_max_failed_attempts = models.PositiveSmallIntegerField(
        _("PIN: failed attempts before lockout"),
        null=True,
        blank=True,
        help_text=_("Empty: the platform default."),
    )
    pin_lockout_minutes = models.PositiveSmallIntegerField(
        _("PIN: lockout minutes"), null=True, blank=True, help_text=_("Empty: the platform default.")
    )
    self_enrollment_open = models.BooleanField(_("self-enrollment open"), default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("merchant settings")
        verbose_name_plural = _("merchant settings")

    def __str__(self):
        return str(self.merchant)

    @property
    def effective_pin_max_failed_attempts(self) -> int:
        return self.pin_max_failed_attempts or settings.LOYALTY_PIN_MAX_FAILED_ATTEMPTS

    @property
    def effective_pin_lockout_minutes(self) -> int:
        return self.pin_lockout_minutes or settings.LOYALTY_PIN_LOCKOUT_MINUTES
