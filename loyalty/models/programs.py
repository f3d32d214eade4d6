from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet, TimestampedModel
from .tenancy import Merchant

hex_colour = RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("Enter a colour as #RRGGBB."))

MAX_PURCHASE_CENTS = 100_000_000  # one million euros: anything above is a typo

# The bounds of a program's numbers, written once: they are the model's validators, so the back
# office's form and the API's serializers (``program_bounds``) refuse the same values.
PROGRAM_BOUNDS = {
    "stamps_target": (1, 1000),
    "points_per_euro": (0, 10_000),
    "minimum_purchase_cents": (0, MAX_PURCHASE_CENTS),
    "points_expiration_days": (1, 3650),
    "cooldown_minutes": (0, 1440),
    "max_daily_stamps": (1, 100),
}


def _bounded(name: str) -> list:
    low, high = PROGRAM_BOUNDS[name]
    return [MinValueValidator(low), MaxValueValidator(high)]


def program_bounds(name: str) -> dict:
    """``{"min_value": …, "max_value": …}`` of a program field, for a form or serializer field."""
    low, high = PROGRAM_BOUNDS[name]
    return {"min_value": low, "max_value": high}


def _default_points_per_euro():
    return settings.LOYALTY_DEFAULT_POINTS_PER_EURO


def _default_cooldown_minutes():
    return settings.LOYALTY_DEFAULT_COOLDOWN_MINUTES


def _default_max_daily_stamps():
    return settings.LOYALTY_MAX_DAILY_STAMPS


class LoyaltyType(models.TextChoices):
    STAMPS = "stamps", _("Stamps")
    POINTS = "points", _("Points")
    HYBRID = "hybrid", _("Stamps and points")


class Program(TimestampedModel):
    """A merchant's loyalty program, valid at all its stores (one per merchant).

    Deleting a program through any interface deactivates it (``is_active``);
    cards and transactions refer to it with PROTECT so history survives.
    """

    MERCHANT_LOOKUP = "merchant"

    merchant = models.OneToOneField(
        Merchant, on_delete=models.PROTECT, related_name="program", verbose_name=_("merchant")
    )
    name = models.CharField(_("card name"), max_length=120)
    loyalty_type = models.CharField(_("type"), max_length=10, choices=LoyaltyType.choices, default=LoyaltyType.STAMPS)
    # Stamps
    stamps_target = models.PositiveSmallIntegerField(
        _("stamps for a reward"), default=10, validators=_bounded("stamps_target")
    )
    stamps_reward_description = models.CharField(_("stamp reward"), max_length=200, blank=True)
    # Points
    points_per_euro = models.PositiveIntegerField(
        _("points per euro"), default=_default_points_per_euro, validators=_bounded("points_per_euro")
    )
    minimum_purchase_cents = models.PositiveIntegerField(
        _("minimum purchase (cents)"),
        default=0,
        validators=_bounded("minimum_purchase_cents"),
        help_text=_("0: no minimum."),
    )
    points_expiration_days = models.PositiveIntegerField(
        _("points expire after (days without activity)"),
        null=True,
        blank=True,
        validators=_bounded("points_expiration_days"),
        help_text=_("Empty: points never expire."),
    )
    # Anti-fraud
    cooldown_minutes = models.PositiveIntegerField(
        _("minutes between stamps"), default=_default_cooldown_minutes, validators=_bounded("cooldown_minutes")
    )
    max_daily_stamps = models.PositiveSmallIntegerField(
        _("stamps per card per day"), default=_default_max_daily_stamps, validators=_bounded("max_daily_stamps")
    )
    require_staff_pin = models.BooleanField(_("require a staff PIN"), default=True)
    # Branding
    background_color = models.CharField(_("background colour"), max_length=7, default="#1F3A5F", validators=[hex_colour])
    text_color = models.CharField(_("text colour"), max_length=7, default="#FFFFFF", validators=[hex_colour])
    logo = models.ImageField(_("logo"), upload_to="program-logos/", blank=True)
    terms_text = models.TextField(_("terms"), blank=True)
    privacy_url = models.URLField(_("privacy policy URL"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        constraints = [
            models.CheckConstraint(condition=Q(stamps_target__gte=1), name="program_stamps_target_positive"),
            models.CheckConstraint(condition=Q(max_daily_stamps__gte=1), name="program_max_daily_stamps_positive"),
            models.CheckConstraint(
                condition=Q(loyalty_type__in=LoyaltyType.values), name="program_loyalty_type_valid"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def has_stamps(self) -> bool:
        return self.loyalty_type in (LoyaltyType.STAMPS, LoyaltyType.HYBRID)

    @property
    def has_points(self) -> bool:
        return self.loyalty_type in (LoyaltyType.POINTS, LoyaltyType.HYBRID)


class Reward(TimestampedModel):
    """An item of a points program's catalog."""

    MERCHANT_LOOKUP = "program__merchant"

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="rewards", verbose_name=_("program"))
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    points_required = models.PositiveIntegerField(_("points required"), validators=[MinValueValidator(1)])
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["position", "points_required", "id"]
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        constraints = [
            models.CheckConstraint(condition=Q(points_required__gt=0), name="reward_points_required_positive"),
        ]

    def __str__(self):
        return f"{self.name} ({self.points_required})"
