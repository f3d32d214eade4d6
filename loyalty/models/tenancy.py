import zoneinfo
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet, TimestampedModel


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


def birthday_validate(*, month: int | None, day: int | None) -> None:
    """Both empty, or a day that exists in that month in some year (29 February included)."""
    if month is None and day is None:
        return
    if month is None or day is None:
        raise ValidationError({"birthday_day": _("Give both the day and the month of the birthday, or neither.")})
    try:
        date(2000, month, day)  # 2000 is a leap year: 29 February is a birthday
    except (TypeError, ValueError):
        raise ValidationError({"birthday_day": _("This day does not exist in that month.")}) from None


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
    # Optional, day and month only (no year: the age is none of the shop's business).
    birthday_month = models.PositiveSmallIntegerField(
        _("birthday (month)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    birthday_day = models.PositiveSmallIntegerField(
        _("birthday (day)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(Lower("email"), "merchant", name="customer_email_unique_per_merchant"),
            models.CheckConstraint(
                condition=Q(birthday_month__isnull=True, birthday_day__isnull=True)
                | Q(birthday_month__gte=1, birthday_month__lte=12, birthday_day__gte=1, birthday_day__lte=31),
                name="customer_birthday_day_and_month",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "full_name"], name="customer_merchant_name_idx"),
        ]

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        birthday_validate(month=self.birthday_month, day=self.birthday_day)


AUTOMATIC_TEXT_MAX_LENGTH = 140  # as a campaign's: it must fit a lock-screen notification


def _automatic_text(verbose_name):
    return models.CharField(
        verbose_name,
        max_length=AUTOMATIC_TEXT_MAX_LENGTH,
        blank=True,
        help_text=_("Empty: the default text, in the customer's language."),
    )


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
    # Automatic messages (loyalty.services.automatic_messages): each off until the merchant turns it on; an
    # empty text means the platform's default text, translated into the customer's language.
    welcome_message_enabled = models.BooleanField(
        _("welcome message"),
        default=False,
        help_text=_("Every new card's customer gets the e-mail with the card's link at once, with this welcome text."),
    )
    welcome_text_en = _automatic_text(_("welcome text in English"))
    welcome_text_fr = _automatic_text(_("welcome text in French"))
    welcome_text_de = _automatic_text(_("welcome text in German"))
    welcome_text_lb = _automatic_text(_("welcome text in Luxembourgish"))
    reward_ready_message_enabled = models.BooleanField(
        _("reward ready message"),
        default=False,
        help_text=_("When a card reaches its stamp target, or its points first cover the cheapest reward."),
    )
    reward_ready_text_en = _automatic_text(_("reward ready text in English"))
    reward_ready_text_fr = _automatic_text(_("reward ready text in French"))
    reward_ready_text_de = _automatic_text(_("reward ready text in German"))
    reward_ready_text_lb = _automatic_text(_("reward ready text in Luxembourgish"))
    points_expiring_message_enabled = models.BooleanField(
        _("points expiring message"),
        default=False,
        help_text=_("Before a card's points expire under the program's rule of days without activity."),
    )
    points_expiring_days = models.PositiveSmallIntegerField(
        _("points expiring: days before"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    points_expiring_text_en = _automatic_text(_("points expiring text in English"))
    points_expiring_text_fr = _automatic_text(_("points expiring text in French"))
    points_expiring_text_de = _automatic_text(_("points expiring text in German"))
    points_expiring_text_lb = _automatic_text(_("points expiring text in Luxembourgish"))
    we_miss_you_message_enabled = models.BooleanField(
        _("we miss you message"), default=False, help_text=_("When a card has not been used for a while.")
    )
    we_miss_you_days = models.PositiveSmallIntegerField(
        _("we miss you: days without activity"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    we_miss_you_text_en = _automatic_text(_("we miss you text in English"))
    we_miss_you_text_fr = _automatic_text(_("we miss you text in French"))
    we_miss_you_text_de = _automatic_text(_("we miss you text in German"))
    we_miss_you_text_lb = _automatic_text(_("we miss you text in Luxembourgish"))
    birthday_message_enabled = models.BooleanField(
        _("birthday message"),
        default=False,
        help_text=_("In the morning of a customer's birthday, when they gave it."),
    )
    birthday_bonus_stamps = models.PositiveSmallIntegerField(
        _("birthday bonus: stamps"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("0: no stamps. Only for programs with stamps."),
    )
    birthday_bonus_points = models.PositiveIntegerField(
        _("birthday bonus: points"),
        default=0,
        validators=[MaxValueValidator(100_000)],
        help_text=_("0: no points. Only for programs with points."),
    )
    birthday_text_en = _automatic_text(_("birthday text in English"))
    birthday_text_fr = _automatic_text(_("birthday text in French"))
    birthday_text_de = _automatic_text(_("birthday text in German"))
    birthday_text_lb = _automatic_text(_("birthday text in Luxembourgish"))

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
