"""Automatic messages: what a merchant's customers hear without a campaign, and one row per time they heard it.

The switches, the days and the merchant's own texts are fields of
``MerchantSettings``; the default texts are here, translated. Each sending
is claimed by inserting its :class:`AutomaticMessageDelivery` row, unique per
(card, kind, period): the period says what "once" means for the kind (the
ledger row that crossed the reward threshold, the expiry date, the last
activity's date, the birthday's year), so overlapping jobs and retried
requests never send it twice.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet
from .cards import LoyaltyCard
from .tenancy import Merchant


class AutomaticMessageKind(models.TextChoices):
    WELCOME = "welcome", _("Welcome")
    REWARD_READY = "reward_ready", _("Reward ready")
    POINTS_EXPIRING = "points_expiring", _("Points expiring")
    WE_MISS_YOU = "we_miss_you", _("We miss you")
    BIRTHDAY = "birthday", _("Birthday")


# Sent when the merchant leaves a language's text empty; each is translated in locale/.
AUTOMATIC_MESSAGE_DEFAULT_TEXTS = {
    AutomaticMessageKind.WELCOME: _("Welcome! Your card is ready: show it at the till to collect your rewards."),
    AutomaticMessageKind.REWARD_READY: _("Your reward is ready! Show your card at the till to enjoy it."),
    AutomaticMessageKind.POINTS_EXPIRING: _("Your points expire soon. Come and see us to keep them!"),
    AutomaticMessageKind.WE_MISS_YOU: _("We miss you! Come and see us soon."),
    AutomaticMessageKind.BIRTHDAY: _("Happy birthday! Thank you for being with us."),
}


class AutomaticMessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")


class AutomaticMessageDelivery(models.Model):
    """One automatic message to one card for one period: its claim (unique) and its progress.

    ``email_result`` is a machine word ("sent", "no_consent", "erased",
    "disabled", or an error's class), never an address or a server's text.
    """

    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant"))
    card = models.ForeignKey(LoyaltyCard, on_delete=models.PROTECT, related_name="+", verbose_name=_("card"))
    kind = models.CharField(_("message"), max_length=20, choices=AutomaticMessageKind.choices)
    period_key = models.CharField(_("period"), max_length=40)
    status = models.CharField(
        _("status"), max_length=10, choices=AutomaticMessageStatus.choices, default=AutomaticMessageStatus.PENDING
    )
    email_result = models.CharField(_("e-mail"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("automatic message")
        verbose_name_plural = _("automatic messages")
        constraints = [
            models.UniqueConstraint(fields=["card", "kind", "period_key"], name="automatic_message_once_per_period"),
            models.CheckConstraint(
                condition=Q(kind__in=AutomaticMessageKind.values), name="automatic_message_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="automatic_message_pending_idx", condition=Q(status="pending")),
            models.Index(fields=["card", "-sent_at"], name="automatic_message_card_idx"),
        ]

    def __str__(self):
        return f"{self.kind}/{self.card_id}/{self.period_key}"
