"""Edits of merchants, stores, customers and merchant settings (the back office's forms).

Each edit is validated like the model's form, saved under a row lock, and
tells the wallets what their passes show that changed, after commit:

- a customer's name or language: each of that customer's cards;
- a merchant's name or website, a store's name, address or status (a new
  store too): every pass of the merchant's program, which lists the
  merchant and its stores.

Changes to a merchant are for platform administrators; the others for the
merchant's owner (or a platform administrator acting on that merchant).
"""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model

from loyalty.domain.actors import Actor
from loyalty.domain.opening_hours import OpeningRange
from loyalty.exceptions import NotFound, PermissionDenied, ValidationFailed
from loyalty.models import Customer, LoyaltyCard, Merchant, MerchantSettings, Program, Store, StoreOpeningHours
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.customers import CustomerNotFound
from loyalty.services.wallet import card_change_announce, program_change_announce

CUSTOMER_FIELDS = ("full_name", "phone", "preferred_language", "birthday_day", "birthday_month")
STORE_FIELDS = ("name", "code", "address", "timezone", "is_active")
MERCHANT_FIELDS = ("name", "slug", "contact_email", "website", "is_active")
ALERT_SETTINGS_FIELDS = (
    "alert_busy_card_enabled",
    "alert_busy_card_max_operations",
    "alert_large_adjustment_enabled",
    "alert_large_adjustment_points",
    "alert_void_rate_enabled",
    "alert_void_rate_percent",
    "alert_void_rate_min_operations",
    "alert_staff_favourite_enabled",
    "alert_staff_favourite_percent",
    "alert_staff_favourite_min_operations",
    "alert_pin_guessing_enabled",
    "alert_enrollment_burst_enabled",
    "alert_enrollment_burst_max_enrollments",
    "alert_store_lockouts_per_day",
    "alert_out_of_hours_enabled",
    "alert_out_of_hours_max_operations",
    "alert_digest_enabled",
)
LANGUAGE_CODES = tuple(code for code, _name in settings.LANGUAGES)
# Per message: its switch, its numbers, its texts (loyalty.services.automatic_messages).
AUTOMATIC_MESSAGE_SETTINGS_FIELDS = {
    "welcome": ("welcome_message_enabled",),
    "reward_ready": ("reward_ready_message_enabled",),
    "points_expiring": ("points_expiring_message_enabled", "points_expiring_days"),
    "we_miss_you": ("we_miss_you_message_enabled", "we_miss_you_days"),
    "birthday": ("birthday_message_enabled", "birthday_bonus_stamps", "birthday_bonus_points"),
}
AUTOMATIC_MESSAGE_SETTINGS_FIELDS = {
    kind: (*fields, *(f"{kind}_text_{code}" for code in LANGUAGE_CODES))
    for kind, fields in AUTOMATIC_MESSAGE_SETTINGS_FIELDS.items()
}
MERCHANT_SETTINGS_FIELDS = (
    "pin_max_failed_attempts",
    "pin_lockout_minutes",
    "self_enrollment_open",
    *ALERT_SETTINGS_FIELDS,
    *(name for fields in AUTOMATIC_MESSAGE_SETTINGS_FIELDS.values() for name in fields),
)

# What each model's passes show: a change to one of these reaches the wallets.
_CUSTOMER_ON_PASSES = {"full_name", "preferred_language"}
_STORE_ON_PASSES = {"name", "address", "is_active"}
_MERCHANT_ON_PASSES = {"name", "website"}


def _ensure_owner(actor: Actor) -> None:
    if not actor.is_owner:
        raise PermissionDenied()


def _ensure_platform_admin(user) -> None:
    if not (user is not None and user.is_active and user.is_superuser):
        raise PermissionDenied()


def _apply(instance: Model, fields: dict, allowed: tuple[str, ...], *, exclude=()) -> set[str]:
    """Set ``fields`` on ``instance``, validate it as its form would, save; the names whose value changed."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationFailed(details={name: ["Unknown field."] for name in sorted(unknown)})
    changed = {name for name, value in fields.items() if getattr(instance, name) != value}
    for name, value in fields.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(exclude=list(exclude))
    except DjangoValidationError as error:
        raise ValidationFailed(details=error.message_dict) from None
    if instance.pk is None:
        instance.save()
    elif changed:
        instance.save(update_fields=[*sorted(changed), "updated_at"])
    return changed


def _merchant_passes_changed(merchant_id: int) -> None:
    for program_id in Program.objects.filter(merchant_id=merchant_id).values_list("pk", flat=True):
        program_change_announce(program_id=program_id)


@transaction.atomic
def customer_update(*, actor: Actor, customer_id: int, **fields) -> Customer:
    _ensure_owner(actor)
    customer = Customer.objects.for_merchant(actor.merchant).select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise CustomerNotFound()
    changed = _apply(customer, fields, CUSTOMER_FIELDS, exclude=["merchant"])
    if changed & _CUSTOMER_ON_PASSES:
        for card_id in LoyaltyCard.objects.filter(customer=customer).values_list("pk", flat=True):
            card_change_announce(card_id=card_id)
    return customer


@transaction.atomic
def store_create(*, actor: Actor, **fields) -> Store:
    _ensure_owner(actor)
    store = Store(merchant=actor.merchant)
    _apply(store, fields, STORE_FIELDS, exclude=["merchant"])
    _merchant_passes_changed(actor.merchant.pk)
    return store


@transaction.atomic
def store_update(*, actor: Actor, store_id: int, **fields) -> Store:
    """``code`` is printed on posters and in join links: it is set once, at creation."""
    _ensure_owner(actor)
    store = Store.objects.for_merchant(actor.merchant).select_for_update().filter(pk=store_id).first()
    if store is None:
        raise NotFound()
    changed = _apply(store, fields, tuple(name for name in STORE_FIELDS if name != "code"), exclude=["merchant"])
    if changed & _STORE_ON_PASSES:
        _merchant_passes_changed(store.merchant_id)
    return store


MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def _week_span(opening: OpeningRange) -> tuple[int, int]:
    """The range as [start, end) minutes from Monday 00:00 (the end may pass into the next week)."""
    start = opening.weekday * MINUTES_PER_DAY + opening.opens.hour * 60 + opening.opens.minute
    length = (opening.closes.hour * 60 + opening.closes.minute) - (opening.opens.hour * 60 + opening.opens.minute)
    return start, start + (length if length > 0 else length + MINUTES_PER_DAY)


def _overlaps(first: OpeningRange, second: OpeningRange) -> bool:
    first_start, first_end = _week_span(first)
    second_start, second_end = _week_span(second)
    # A Sunday night reaches into Monday: compare with the other range a week earlier and later too.
    return any(
        first_start < second_end + shift and second_start + shift < first_end
        for shift in (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK)
    )


@transaction.atomic
def store_opening_hours_replace(*, actor: Actor, store_id: int, ranges: list[OpeningRange]) -> list[StoreOpeningHours]:
    """Make ``ranges`` the store's opening hours (none: the store has no hours and is never "out of hours").

    Ranges may not overlap (a night that ends after midnight counts on the next day).
    """
    _ensure_owner(actor)
    store = Store.objects.for_merchant(actor.merchant).select_for_update().filter(pk=store_id).first()
    if store is None:
        raise NotFound()
    ranges = sorted(OpeningRange(*opening) for opening in ranges)
    for index, opening in enumerate(ranges):
        for other in ranges[index + 1 :]:
            if _overlaps(opening, other):
                raise ValidationFailed(
                    details={"opening_hours": [f"{opening_range_text(opening)} overlaps {opening_range_text(other)}."]}
                )
    StoreOpeningHours.objects.filter(store=store).delete()
    return StoreOpeningHours.objects.bulk_create(
        StoreOpeningHours(store=store, weekday=opening.weekday, opens=opening.opens, closes=opening.closes)
        for opening in ranges
    )


def opening_range_text(opening: OpeningRange) -> str:
    return str(StoreOpeningHours(weekday=opening.weekday, opens=opening.opens, closes=opening.closes))


@transaction.atomic
def merchant_create(*, user, **fields) -> Merchant:
    _ensure_platform_admin(user)
    merchant = Merchant()
    _apply(merchant, fields, MERCHANT_FIELDS)
    return merchant


@transaction.atomic
def merchant_update(*, user, merchant_id: int, **fields) -> Merchant:
    """Deactivating a merchant shuts it out at once (tokens, back office, join pages: each checks the flag)."""
    _ensure_platform_admin(user)
    merchant = Merchant.objects.select_for_update().filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound()
    changed = _apply(merchant, fields, MERCHANT_FIELDS)
    if changed & _MERCHANT_ON_PASSES:
        _merchant_passes_changed(merchant.pk)
    return merchant


@transaction.atomic
def merchant_settings_update(*, actor: Actor, **fields) -> MerchantSettings:
    _ensure_owner(actor)
    row = merchant_settings_get(merchant=actor.merchant)
    row = MerchantSettings.objects.select_for_update().get(pk=row.pk)
    _apply(row, fields, MERCHANT_SETTINGS_FIELDS, exclude=["merchant"])
    return row
