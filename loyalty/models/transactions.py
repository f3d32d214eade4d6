from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet
from .cards import LoyaltyCard
from .programs import Reward
from .tenancy import Merchant, Store


class TransactionType(models.TextChoices):
    STAMP_EARNED = "STAMP_EARNED", _("Stamp earned")
    STAMP_REDEEMED = "STAMP_REDEEMED", _("Stamp reward redeemed")
    STAMP_VOIDED = "STAMP_VOIDED", _("Stamps voided")
    POINTS_EARNED = "POINTS_EARNED", _("Points earned")
    POINTS_REDEEMED = "POINTS_REDEEMED", _("Points redeemed")
    POINTS_VOIDED = "POINTS_VOIDED", _("Points voided")
    POINTS_ADJUSTED = "POINTS_ADJUSTED", _("Points adjusted")
    POINTS_EXPIRED = "POINTS_EXPIRED", _("Points expired")
    CARD_ENROLLED = "CARD_ENROLLED", _("Card enrolled")
    CARD_DEACTIVATED = "CARD_DEACTIVATED", _("Card deactivated")
    CARD_REACTIVATED = "CARD_REACTIVATED", _("Card reactivated")
    BALANCE_IMPORTED = "BALANCE_IMPORTED", _("Balance imported")
    BONUS = "BONUS", _("Bonus")


class ImmutableRowError(Exception):
    """Raised when code tries to change or delete a ledger row."""


class LedgerQuerySet(TenantQuerySet):
    def update(self, **kwargs):
        raise ImmutableRowError("The ledger is append-only: transactions are never updated.")

    def delete(self):
        raise ImmutableRowError("The ledger is append-only: transactions are never deleted.")

    _raw_delete = delete


class LoyaltyTransaction(models.Model):
    """One row of the append-only ledger: who did what to which card, where, when.

    The model refuses ``save()`` on an existing row and ``delete()``; on
    PostgreSQL a trigger (migration 0002) rejects UPDATE and DELETE as well.
    ``stamp_balance_after``/``points_balance_after`` snapshot the card after
    the operation so a statement can be read without replaying the ledger.
    """

    MERCHANT_LOOKUP = "merchant"

    # Every index is paid by every insert: only those a query or a foreign-key check uses (README "Performance",
    # migration 0015). card and merchant lead the composite indexes below; a store's rows are read within its
    # merchant's (tx_merchant_created_idx); stores, rewards and transactions are never deleted (no foreign-key
    # check to serve) and no query looks rows up by reward; the void lookup uses tx_voided_at_most_once.
    # staff_pin (PIN deletion checks for rows first) and acting_user (a platform administrator may delete a
    # user) keep their own index.
    card = models.ForeignKey(LoyaltyCard, on_delete=models.PROTECT, related_name="transactions", db_index=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+", db_index=False)
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    staff_pin = models.ForeignKey(
        "staff.StaffPin", on_delete=models.PROTECT, null=True, blank=True, related_name="transactions"
    )
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    type = models.CharField(_("type"), max_length=20, choices=TransactionType.choices)
    stamps_delta = models.IntegerField(_("stamps change"), default=0)
    points_delta = models.IntegerField(_("points change"), default=0)
    stamp_balance_after = models.PositiveIntegerField(_("stamps after"))
    points_balance_after = models.PositiveIntegerField(_("points after"))
    purchase_amount_cents = models.PositiveBigIntegerField(_("purchase (cents)"), null=True, blank=True)
    order_reference = models.CharField(_("order reference"), max_length=100, null=True, blank=True)
    reward = models.ForeignKey(
        Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    voided_transaction = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="voids", db_index=False
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=256, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        # Read-only for everyone, superusers included (see the admin).
        default_permissions = ("view",)
        constraints = [
            # Idempotency key: one earning per order reference per merchant.
            models.UniqueConstraint(
                fields=["merchant", "order_reference"],
                condition=Q(type="POINTS_EARNED", order_reference__isnull=False),
                name="tx_order_reference_unique_earn",
            ),
            # A transaction is voided at most once.
            models.UniqueConstraint(
                fields=["voided_transaction"],
                condition=Q(voided_transaction__isnull=False),
                name="tx_voided_at_most_once",
            ),
        ]
        indexes = [
            models.Index(fields=["card", "-created_at"], name="tx_card_created_idx"),
            models.Index(fields=["merchant", "-created_at"], name="tx_merchant_created_idx"),
            models.Index(fields=["merchant", "type", "-created_at"], name="tx_merchant_type_created_idx"),
        ]

    def __str__(self):
        return f"{self.get_type_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError("The ledger is append-only: transactions are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("The ledger is append-only: transactions are never deleted.")
