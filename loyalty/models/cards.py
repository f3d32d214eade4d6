from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet, TimestampedModel
from .programs import Program
from .tenancy import Customer, Merchant, Store


class LoyaltyCard(TimestampedModel):
    """A customer's card in a merchant's program, usable at every store.

    Balances are changed only by ``loyalty.services`` under a row lock, each
    change with one ledger row; for every card the balances equal the sums
    of its transactions' deltas.

    Three identifiers, three purposes: ``card_number`` (12 digits, Luhn, typed
    at the till), ``qr_code_data`` (what the scanner reads: a bearer
    credential) and ``public_token`` (the customer's card-page URL).
    """

    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="cards", verbose_name=_("merchant"))
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cards", verbose_name=_("program"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cards", verbose_name=_("customer"))
    enrolled_store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("enrolled at")
    )
    card_number = models.CharField(_("card number"), max_length=12, unique=True)
    qr_code_data = models.CharField(_("QR code data"), max_length=64, unique=True)
    public_token = models.CharField(_("card page token"), max_length=64, unique=True)

    stamp_count = models.PositiveIntegerField(_("stamps"), default=0)
    total_stamps_earned = models.PositiveIntegerField(_("stamps earned"), default=0)
    stamps_redeemed = models.PositiveIntegerField(_("stamp rewards redeemed"), default=0)
    total_stamps_voided = models.PositiveIntegerField(_("stamps voided"), default=0)

    points_balance = models.PositiveIntegerField(_("points"), default=0)
    total_points_earned = models.PositiveBigIntegerField(_("points earned"), default=0)
    points_redeemed = models.PositiveBigIntegerField(_("points redeemed"), default=0)
    total_points_voided = models.PositiveBigIntegerField(_("points voided"), default=0)
    total_points_expired = models.PositiveBigIntegerField(_("points expired"), default=0)

    last_stamp_at = models.DateTimeField(_("last stamp"), null=True, blank=True)
    last_points_at = models.DateTimeField(_("last points"), null=True, blank=True)
    last_redemption_at = models.DateTimeField(_("last redemption"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    is_active = models.BooleanField(_("active"), default=True)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    deactivation_reason = models.CharField(_("deactivation reason"), max_length=200, blank=True)

    # Wallets: set when a change could not reach a wallet; the hourly sync clears it.
    wallet_needs_sync = models.BooleanField(_("wallet out of date"), default=False)
    # When the card's link was last e-mailed to its customer: the public resend window is
    # claimed on this column (loyalty.services.notifications.card_link_send).
    card_link_sent_at = models.DateTimeField(_("card link e-mailed at"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        constraints = [
            models.UniqueConstraint(fields=["customer", "program"], name="card_one_per_customer_per_program"),
            models.CheckConstraint(condition=Q(stamp_count__gte=0), name="card_stamp_count_not_negative"),
            models.CheckConstraint(condition=Q(points_balance__gte=0), name="card_points_balance_not_negative"),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="card_merchant_created_idx"),
            models.Index(fields=["program", "last_activity_at"], name="card_program_activity_idx"),
            models.Index(
                fields=["wallet_needs_sync"], name="card_wallet_needs_sync_idx", condition=Q(wallet_needs_sync=True)
            ),
        ]

    def __str__(self):
        return self.card_number

    @property
    def stamps_until_reward(self) -> int:
        return max(self.program.stamps_target - self.stamp_count, 0)
