import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
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


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class StoreOpeningHours(models.Model):
    """One opening range of a store on one weekday, in the store's wall-clock time.

    A day may have several ranges (lunch break); a weekday without a range
    is a closed day. ``closes`` at or before ``opens`` ends on the next day
    (18:00–02:00 is a night that ends at 2 a.m.; 00:00–00:00 is all day).
    A store with no range at all has no opening hours: the out-of-hours
    alert says nothing about it.
    """

    MERCHANT_LOOKUP = "store__merchant"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("store"))
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"), help_text=_("At or before the opening time: the next day."))

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store", "weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.UniqueConstraint(fields=["store", "weekday", "opens"], name="store_hours_one_range_per_start"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


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
    # Fraud alert rules (loyalty.services.alerts): each has an off switch and a threshold.
    alert_pin_guessing_enabled = models.BooleanField(
        _("alert: PIN guessing"), default=True, help_text=_("An alert when a staff PIN or a store is locked out.")
    )
    alert_enrollment_burst_enabled = models.BooleanField(_("alert: enrollment burst"), default=True)
    alert_enrollment_burst_max_enrollments = models.PositiveSmallIntegerField(
        _("enrollment burst: enrollments allowed per hour"),
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("An alert when more cards than this are enrolled from one IP address at one store in an hour."),
    )
    alert_busy_card_enabled = models.BooleanField(_("alert: busy card"), default=True)
    alert_busy_card_max_operations = models.PositiveSmallIntegerField(
        _("busy card: earning operations allowed per day"),
        default=5,
        validators=[MinValueValidator(1)],
        help_text=_("An alert when one card has more earning operations than this in one store-local day."),
    )
    alert_large_adjustment_enabled = models.BooleanField(_("alert: large adjustment"), default=True)
    alert_large_adjustment_points = models.PositiveIntegerField(
        _("large adjustment: points allowed"),
        default=1000,
        validators=[MinValueValidator(1)],
        help_text=_("An alert when one points adjustment adds or removes more points than this."),
    )
    alert_void_rate_enabled = models.BooleanField(_("alert: void rate"), default=True)
    alert_void_rate_percent = models.PositiveSmallIntegerField(
        _("void rate: percent allowed"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("An alert when more than this share of a staff member's operations in 7 days are voids."),
    )
    alert_void_rate_min_operations = models.PositiveSmallIntegerField(
        _("void rate: minimum operations"),
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("Staff members with fewer operations in 7 days are not judged."),
    )
    alert_staff_favourite_enabled = models.BooleanField(_("alert: staff favourite"), default=True)
    alert_staff_favourite_percent = models.PositiveSmallIntegerField(
        _("staff favourite: percent allowed"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_(
            "An alert when more than this share of a staff member's earning operations in 7 days go to one card."
        ),
    )
    alert_staff_favourite_min_operations = models.PositiveSmallIntegerField(
        _("staff favourite: minimum operations"),
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("Staff members with fewer earning operations in 7 days are not judged."),
    )

    alert_out_of_hours_enabled = models.BooleanField(
        _("alert: out of hours"),
        default=True,
        help_text=_("Only for stores with opening hours; a store without any is never judged."),
    )
    alert_out_of_hours_max_operations = models.PositiveSmallIntegerField(
        _("out of hours: earning operations allowed per day"),
        default=0,
        help_text=_(
            "An alert when a staff member makes more earning operations than this outside a store's opening hours "
            "in one store-local day."
        ),
    )
    alert_store_lockouts_per_day = models.PositiveSmallIntegerField(
        _("PIN guessing: store lockouts in one day"),
        default=3,
        validators=[MinValueValidator(2)],
        help_text=_("A further alert when one store has been locked out this many times in one store-local day."),
    )
    alert_digest_enabled = models.BooleanField(
        _("daily alert e-mail"),
        default=True,
        help_text=_("At 07:00 every morning, owners and managers get yesterday's new alerts (nothing when none)."),
    )

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
