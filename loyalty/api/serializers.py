"""Serializers of the loyalty API: request validation and response shapes, nothing else.

Requests are validated here (types, ranges, lengths) before any service runs,
so no malformed value reaches the database; the rules themselves stay in the
services. Responses never carry a secret: no PIN or hash, no QR data, no
card-page token, no wallet identifier.
"""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.domain.cards import CardRef
from loyalty.models import (
    MAX_PURCHASE_CENTS,
    LoyaltyCard,
    LoyaltyTransaction,
    LoyaltyType,
    Program,
    Reward,
    TransactionType,
    program_bounds,
)
from loyalty.services.points import MAX_ADJUSTMENT
from loyalty_site.api import fields as request_fields
from loyalty_site.api.serializers import FlatSerializer
from loyalty_site.api.times import api_time
from staff.models import StaffPin
from staff.services.pins import pin_entry_locked_until

MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist and must not reach the database
LANGUAGE_CHOICES = [code for code, _name in settings.LANGUAGES]


def _id_field(**kwargs):
    return request_fields.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# --- Requests -----------------------------------------------------------------------------------


class RequestBody(FlatSerializer):
    """A request body. Its OpenAPI component is named without "Request": the schema adds that itself."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.Meta = type("Meta", (), {"ref_name": cls.__name__.removesuffix("Request")})


class CardRefRequest(RequestBody):
    """A card named by exactly one of ``card_id``, ``qr_code``, ``card_number``."""

    card_id = _id_field(required=False)
    qr_code = serializers.CharField(max_length=64, required=False)
    card_number = serializers.CharField(max_length=32, required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        # CardRef raises VALIDATION_ERROR for zero or several names, or a mistyped number.
        attrs["card_ref"] = CardRef(
            card_id=attrs.pop("card_id", None),
            qr_code=attrs.pop("qr_code", None),
            card_number=attrs.pop("card_number", None),
        )
        return attrs


class StaffPinRequestMixin(FlatSerializer):
    staff_pin = serializers.CharField(
        max_length=16, required=False, allow_blank=True, help_text="The staff member's PIN (4–8 digits)."
    )
    staff_pin_id = _id_field(required=False, help_text="Optional: the PIN's id, so wrong PINs count against it too.")
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class StampRequest(StaffPinRequestMixin, CardRefRequest):
    pass


class StampRedeemRequest(StaffPinRequestMixin, CardRefRequest):
    pass


class StampVoidRequest(StaffPinRequestMixin, CardRefRequest):
    stamps_to_void = request_fields.IntegerField(min_value=1, max_value=1000, required=False)
    original_transaction_id = _id_field(required=False)


class PointsEarnRequest(StaffPinRequestMixin, CardRefRequest):
    purchase_amount_cents = request_fields.IntegerField(min_value=1, max_value=MAX_PURCHASE_CENTS)
    order_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Idempotency key: the till's order number."
    )


class PointsRedeemRequest(StaffPinRequestMixin, CardRefRequest):
    reward_id = _id_field()


class PointsVoidRequest(StaffPinRequestMixin, CardRefRequest):
    points_to_void = request_fields.IntegerField(min_value=1, max_value=MAX_ADJUSTMENT, required=False)
    original_transaction_id = _id_field(required=False)
    order_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class PointsAdjustRequest(RequestBody):
    points_delta = request_fields.IntegerField(min_value=-MAX_ADJUSTMENT, max_value=MAX_ADJUSTMENT)
    reason = serializers.CharField(max_length=500)
    staff_pin = serializers.CharField(max_length=16, required=False, allow_blank=True)
    staff_pin_id = _id_field(required=False)


class CardDeactivateRequest(RequestBody):
    reason = serializers.CharField(max_length=200)


class CardReactivateRequest(RequestBody):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def birthday_month_field():
    return request_fields.IntegerField(
        min_value=1, max_value=12, required=False, allow_null=True, default=None, help_text="Optional, with birthday_day."
    )


def birthday_day_field():
    """The birthday, day and month (no year), optional: the shop's birthday message and bonus, if it sends them."""
    return request_fields.IntegerField(
        min_value=1, max_value=31, required=False, allow_null=True, default=None, help_text="Optional, with birthday_month."
    )


class CardEnrollRequest(RequestBody):
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = request_fields.ChoiceField(choices=LANGUAGE_CHOICES, required=False)
    marketing_consent = serializers.BooleanField(
        required=False, default=False, help_text="The customer agreed, at the counter, to receive offers by e-mail."
    )
    birthday_month = birthday_month_field()
    birthday_day = birthday_day_field()


class CardLookupQuery(FlatSerializer):
    q = serializers.CharField(max_length=254, help_text="A card number, the QR code data or the customer's e-mail.")


class CardListQuery(FlatSerializer):
    search = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Part of the name, e-mail or phone, or the start of the card number.",
    )
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    enrolled_here = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only cards enrolled at the token's store."
    )


class TransactionListQuery(FlatSerializer):
    store = serializers.SlugField(max_length=64, required=False, help_text="A store code of this merchant.")
    type = request_fields.ChoiceField(choices=TransactionType.choices, required=False)
    since = request_fields.DateTimeField(required=False, help_text="From this time (inclusive).")
    until = request_fields.DateTimeField(required=False, help_text="Before this time (exclusive).")


class PinCreateRequest(RequestBody):
    name = serializers.CharField(max_length=120)
    pin = serializers.CharField(max_length=16, trim_whitespace=False, help_text="4 to 8 digits; never returned.")
    staff_number = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class PinUpdateRequest(RequestBody):
    name = serializers.CharField(max_length=120, required=False)
    pin = serializers.CharField(max_length=16, trim_whitespace=False, required=False)
    staff_number = serializers.CharField(max_length=32, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


_colour = {"regex": r"^#[0-9A-Fa-f]{6}$", "max_length": 7}


class ProgramWriteRequest(RequestBody):
    """The program's settings; on PATCH every field is optional. Logos are uploaded in the back office."""

    name = serializers.CharField(max_length=120)
    loyalty_type = request_fields.ChoiceField(choices=LoyaltyType.choices, required=False)
    stamps_target = request_fields.IntegerField(**program_bounds("stamps_target"), required=False)
    stamps_reward_description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    points_per_euro = request_fields.IntegerField(**program_bounds("points_per_euro"), required=False)
    minimum_purchase_cents = request_fields.IntegerField(**program_bounds("minimum_purchase_cents"), required=False)
    points_expiration_days = request_fields.IntegerField(
        **program_bounds("points_expiration_days"), required=False, allow_null=True
    )
    cooldown_minutes = request_fields.IntegerField(**program_bounds("cooldown_minutes"), required=False)
    max_daily_stamps = request_fields.IntegerField(**program_bounds("max_daily_stamps"), required=False)
    require_staff_pin = serializers.BooleanField(required=False)
    background_color = serializers.RegexField(required=False, **_colour)
    text_color = serializers.RegexField(required=False, **_colour)
    terms_text = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    privacy_url = serializers.URLField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class PublicEnrollRequest(RequestBody):
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = request_fields.ChoiceField(choices=LANGUAGE_CHOICES, required=False)
    accept_terms = serializers.BooleanField(help_text="Must be true.")
    marketing_consent = serializers.BooleanField(required=False, default=False)
    birthday_month = birthday_month_field()
    birthday_day = birthday_day_field()

    def validate_accept_terms(self, value):
        if value is not True:
            raise serializers.ValidationError("You must accept the terms to join.")
        return value


# --- Responses: programs ----------------------------------------------------------------------


class RewardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reward
        fields = ["id", "name", "description", "points_required", "is_active", "position"]


class ProgramSerializer(serializers.ModelSerializer):
    logo_url = serializers.SerializerMethodField()
    rewards = serializers.SerializerMethodField()

    class Meta:
        model = Program
        fields = [
            "id",
            "name",
            "loyalty_type",
            "stamps_target",
            "stamps_reward_description",
            "points_per_euro",
            "minimum_purchase_cents",
            "points_expiration_days",
            "cooldown_minutes",
            "max_daily_stamps",
            "require_staff_pin",
            "background_color",
            "text_color",
            "logo_url",
            "terms_text",
            "privacy_url",
            "is_active",
            "rewards",
            "created_at",
            "updated_at",
        ]

    def get_logo_url(self, program) -> str | None:
        return settings.SITE_URL + program.logo.url if program.logo else None

    @extend_schema_field(RewardSerializer(many=True))
    def get_rewards(self, program):
        return RewardSerializer(program.rewards.all(), many=True).data


class MerchantRefSerializer(FlatSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class AdminProgramSerializer(ProgramSerializer):
    merchant = MerchantRefSerializer()

    class Meta(ProgramSerializer.Meta):
        fields = ["merchant", *ProgramSerializer.Meta.fields]


class MerchantSerializer(FlatSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    contact_email = serializers.CharField(help_text="An e-mail address, or empty.")
    website = serializers.CharField()
    is_active = serializers.BooleanField()
    stores_total = serializers.IntegerField()
    has_program = serializers.BooleanField()
    created_at = serializers.DateTimeField()


# --- Responses: cards ------------------------------------------------------------------------------


class CustomerSerializer(FlatSerializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField()
    preferred_language = serializers.CharField()


class CardSummarySerializer(serializers.ModelSerializer):
    customer = CustomerSerializer()
    enrolled_store = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = LoyaltyCard
        fields = [
            "id",
            "card_number",
            "customer",
            "stamp_count",
            "points_balance",
            "is_active",
            "enrolled_store",
            "created_at",
            "last_activity_at",
        ]


class WalletFlagsSerializer(FlatSerializer):
    apple_pass_issued = serializers.BooleanField()
    apple_devices_registered = serializers.IntegerField()
    google_wallet_saved = serializers.BooleanField()
    needs_sync = serializers.BooleanField()


class CardProgramSerializer(FlatSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    loyalty_type = serializers.CharField()
    stamps_target = serializers.IntegerField()
    stamps_reward_description = serializers.CharField()


class CardDetailSerializer(FlatSerializer):
    id = serializers.IntegerField()
    card_number = serializers.CharField()
    customer = CustomerSerializer()
    program = CardProgramSerializer()
    reward_description = serializers.CharField(help_text="What the stamps are for.")
    stamp_count = serializers.IntegerField()
    stamps_until_reward = serializers.IntegerField()
    points_balance = serializers.IntegerField()
    total_stamps_earned = serializers.IntegerField()
    stamps_redeemed = serializers.IntegerField()
    total_points_earned = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    is_active = serializers.BooleanField()
    deactivated_at = serializers.DateTimeField(allow_null=True)
    deactivation_reason = serializers.CharField()
    enrolled_store = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_stamp_at = serializers.DateTimeField(allow_null=True)
    last_points_at = serializers.DateTimeField(allow_null=True)
    last_redemption_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)
    wallet = WalletFlagsSerializer()


def card_detail(card: LoyaltyCard, wallets) -> dict:
    program = card.program
    return {
        "id": card.pk,
        "card_number": card.card_number,
        "customer": card.customer,
        "program": program,
        "reward_description": program.stamps_reward_description,
        "stamp_count": card.stamp_count,
        "stamps_until_reward": card.stamps_until_reward,
        "points_balance": card.points_balance,
        "total_stamps_earned": card.total_stamps_earned,
        "stamps_redeemed": card.stamps_redeemed,
        "total_points_earned": card.total_points_earned,
        "points_redeemed": card.points_redeemed,
        "is_active": card.is_active,
        "deactivated_at": card.deactivated_at,
        "deactivation_reason": card.deactivation_reason,
        "enrolled_store": card.enrolled_store.code if card.enrolled_store_id else None,
        "created_at": card.created_at,
        "last_stamp_at": card.last_stamp_at,
        "last_points_at": card.last_points_at,
        "last_redemption_at": card.last_redemption_at,
        "last_activity_at": card.last_activity_at,
        "wallet": wallets,
    }


class CardWrittenSerializer(CardDetailSerializer):
    transaction_id = serializers.IntegerField(help_text="The ledger row this request wrote.")


class CardEnrolledSerializer(CardWrittenSerializer):
    card_url = serializers.URLField(
        help_text="The customer's card page (a bearer link): shown once at the counter for their phone to open."
    )


class ScannerRewardSerializer(FlatSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    points_required = serializers.IntegerField()


class BalancesSerializer(FlatSerializer):
    stamp_count = serializers.IntegerField()
    stamps_target = serializers.IntegerField()
    stamps_until_reward = serializers.IntegerField()
    points_balance = serializers.IntegerField()


class ScannerViewSerializer(FlatSerializer):
    card = CardSummarySerializer()
    program = CardProgramSerializer()
    balances = BalancesSerializer()
    can_stamp = serializers.BooleanField()
    cooldown_ends_at = serializers.DateTimeField(allow_null=True)
    stamps_today = serializers.IntegerField()
    max_daily_stamps = serializers.IntegerField()
    can_redeem_stamps = serializers.BooleanField()
    available_rewards = ScannerRewardSerializer(many=True, help_text="Active rewards the balance covers.")
    has_open_alert = serializers.BooleanField(
        help_text="The card has an open fraud alert: a manager may want to look before a big redemption."
    )


def scanner_view(view) -> dict:
    card = view.card
    return {
        "card": card,
        "program": view.program,
        "balances": {
            "stamp_count": card.stamp_count,
            "stamps_target": view.program.stamps_target,
            "stamps_until_reward": card.stamps_until_reward,
            "points_balance": card.points_balance,
        },
        "can_stamp": view.can_stamp,
        "cooldown_ends_at": view.cooldown_ends_at,
        "stamps_today": view.stamps_today,
        "max_daily_stamps": view.max_daily_stamps,
        "can_redeem_stamps": view.can_redeem_stamps,
        "available_rewards": view.available_rewards,
        "has_open_alert": view.has_open_alert,
    }


class TransactionSerializer(serializers.ModelSerializer):
    card_id = serializers.IntegerField()
    card_number = serializers.CharField(source="card.card_number")
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    staff_name = serializers.CharField(source="staff_pin.name", default=None, allow_null=True)
    reward_id = serializers.IntegerField(allow_null=True)
    reward_name = serializers.CharField(source="reward.name", default=None, allow_null=True)
    voided_transaction_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = LoyaltyTransaction
        fields = [
            "id",
            "card_id",
            "card_number",
            "type",
            "stamps_delta",
            "points_delta",
            "stamp_balance_after",
            "points_balance_after",
            "purchase_amount_cents",
            "order_reference",
            "reward_id",
            "reward_name",
            "voided_transaction_id",
            "store",
            "staff_name",
            "notes",
            "created_at",
        ]


# --- Responses: operations ----------------------------------------------------------------------


class StampAddedSerializer(FlatSerializer):
    transaction_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    card_number = serializers.CharField()
    stamp_count = serializers.IntegerField()
    stamps_target = serializers.IntegerField()
    stamps_until_reward = serializers.IntegerField()
    reward_earned = serializers.BooleanField()
    stamps_today = serializers.IntegerField()
    max_daily_stamps = serializers.IntegerField()
    next_stamp_available_at = serializers.DateTimeField(allow_null=True)


class StampsRedeemedSerializer(FlatSerializer):
    transaction_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    stamp_count = serializers.IntegerField()
    reward_description = serializers.CharField()
    stamps_redeemed = serializers.IntegerField(help_text="Stamps taken off the card for the reward.")


class StampsVoidedSerializer(FlatSerializer):
    transaction_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    stamps_voided = serializers.IntegerField()
    stamp_count = serializers.IntegerField()


class PointsEarnedSerializer(FlatSerializer):
    transaction_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    points_earned = serializers.IntegerField()
    points_balance = serializers.IntegerField()
    replayed = serializers.BooleanField(help_text="true: this order reference was already booked; nothing changed.")


class PointsRedeemedSerializer(FlatSerializer):
    transaction_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    reward_id = serializers.IntegerField()
    reward_name = serializers.CharField()
    points_spent = serializers.IntegerField()
    points_balance = serializers.IntegerField()


class PointsVoidedSerializer(FlatSerializer):
    transaction_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    points_voided = serializers.IntegerField()
    points_balance = serializers.IntegerField()


class PointsAdjustedSerializer(FlatSerializer):
    transaction_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    points_delta = serializers.IntegerField()
    points_balance = serializers.IntegerField()


# --- Responses: PINs ------------------------------------------------------------------------------------


class StaffPinSerializer(serializers.ModelSerializer):
    """A PIN as a manager sees it. ``is_locked``/``locked_until``: whether the till refuses it now and until when,
    for its own wrong PINs or because the store's PIN entry is locked (``POST pins/{id}/unlock`` lifts both).
    A list reads PINs with ``select_related("store__pin_guard")``."""

    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    is_locked = serializers.SerializerMethodField(
        help_text="True while the till answers STAFF_PIN_LOCKED for this PIN: its own lockout or its store's."
    )
    locked_until = serializers.SerializerMethodField(
        help_text="When that lockout ends (the later of the PIN's and the store's); null when not locked."
    )

    class Meta:
        model = StaffPin
        # Never pin_hash or lookup_digest.
        fields = [
            "id",
            "name",
            "staff_number",
            "store",
            "is_active",
            "is_locked",
            "locked_until",
            "failed_attempts",
            "last_used_at",
            "created_at",
            "updated_at",
        ]

    def get_is_locked(self, staff_pin) -> bool:
        return self._locked_until(staff_pin) is not None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_locked_until(self, staff_pin) -> str | None:
        locked_until = self._locked_until(staff_pin)
        return api_time(locked_until) if locked_until is not None else None

    def _locked_until(self, staff_pin):
        # One instant for the whole answer, so both fields (and every PIN of a list) agree.
        return pin_entry_locked_until(staff_pin=staff_pin, now=self.context.setdefault("now", timezone.now()))


class StaffPinDeletedSerializer(FlatSerializer):
    id = serializers.IntegerField()
    deleted = serializers.BooleanField(help_text="false: transactions name this PIN, so it was deactivated instead.")


# --- Responses: statistics --------------------------------------------------------------------------------


class DailyFiguresSerializer(FlatSerializer):
    date = serializers.DateField()
    stamps = serializers.IntegerField()
    points = serializers.IntegerField()
    enrollments = serializers.IntegerField()
    redemptions = serializers.IntegerField()


class StoreFiguresSerializer(FlatSerializer):
    store_code = serializers.CharField()
    store_name = serializers.CharField()
    cards_enrolled = serializers.IntegerField()
    stamps_30d = serializers.IntegerField()
    points_30d = serializers.IntegerField()
    enrollments_30d = serializers.IntegerField()
    transactions_30d = serializers.IntegerField()


class _Figures(FlatSerializer):
    cards_total = serializers.IntegerField()
    cards_active_30d = serializers.IntegerField()
    cards_new_this_month = serializers.IntegerField()
    stamps_issued = serializers.IntegerField()
    stamps_voided = serializers.IntegerField()
    stamp_rewards_redeemed = serializers.IntegerField()
    points_issued = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    points_voided = serializers.IntegerField()
    points_expired = serializers.IntegerField()
    points_outstanding = serializers.IntegerField()
    stamps_outstanding = serializers.IntegerField()
    transactions_7d = serializers.IntegerField()
    transactions_30d = serializers.IntegerField()
    rewards_redeemed_this_month = serializers.IntegerField()


class ProgramStatsSerializer(_Figures):
    program_id = serializers.IntegerField()
    program_name = serializers.CharField()
    loyalty_type = serializers.CharField()
    daily = DailyFiguresSerializer(many=True)
    stores = StoreFiguresSerializer(many=True)


class MerchantStatsSerializer(_Figures):
    merchant_id = serializers.IntegerField()
    merchant_name = serializers.CharField()
    stores_total = serializers.IntegerField()
    customers_total = serializers.IntegerField()
    daily = DailyFiguresSerializer(many=True)
    stores = StoreFiguresSerializer(many=True)


class PlatformStatsSerializer(_Figures):
    merchants_total = serializers.IntegerField()
    merchants_active = serializers.IntegerField()
    stores_total = serializers.IntegerField()
    programs_active = serializers.IntegerField()


# --- Responses: public ---------------------------------------------------------------------------------------


class PublicRewardSerializer(FlatSerializer):
    name = serializers.CharField()
    description = serializers.CharField()
    points_required = serializers.IntegerField()


class PublicStoreSerializer(FlatSerializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()


class PublicMerchantSerializer(FlatSerializer):
    name = serializers.CharField()


class PublicProgramSerializer(FlatSerializer):
    name = serializers.CharField()
    loyalty_type = serializers.CharField()
    background_color = serializers.CharField()
    text_color = serializers.CharField()
    logo_url = serializers.CharField(allow_null=True)
    stamps_target = serializers.IntegerField(allow_null=True)
    stamps_reward_description = serializers.CharField(allow_null=True)
    points_per_euro = serializers.IntegerField(allow_null=True)
    rewards = PublicRewardSerializer(many=True)
    terms_text = serializers.CharField()
    privacy_url = serializers.CharField()


class StorefrontSerializer(FlatSerializer):
    store = PublicStoreSerializer()
    merchant = PublicMerchantSerializer()
    program = PublicProgramSerializer()
    enrollment_open = serializers.BooleanField()


def storefront(*, store, program, enrollment_open: bool) -> dict:
    return {
        "store": store,
        "merchant": store.merchant,
        "program": {
            "name": program.name,
            "loyalty_type": program.loyalty_type,
            "background_color": program.background_color,
            "text_color": program.text_color,
            "logo_url": settings.SITE_URL + program.logo.url if program.logo else None,
            "stamps_target": program.stamps_target if program.has_stamps else None,
            "stamps_reward_description": program.stamps_reward_description if program.has_stamps else None,
            "points_per_euro": program.points_per_euro if program.has_points else None,
            "rewards": list(program.rewards.filter(is_active=True)) if program.has_points else [],
            "terms_text": program.terms_text,
            "privacy_url": program.privacy_url,
        },
        "enrollment_open": enrollment_open,
    }


class PublicEnrolledSerializer(FlatSerializer):
    card_url = serializers.URLField(help_text="The customer's card page (show its QR code at the till).")
    apple_pass_url = serializers.URLField(required=False, help_text="Present when Apple Wallet is configured.")
    google_save_url = serializers.URLField(required=False, help_text="Present when Google Wallet is configured.")


class CheckEmailSerializer(FlatSerializer):
    status = serializers.ChoiceField(choices=["check_email"])
