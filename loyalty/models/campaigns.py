"""Messages a merchant sends to its card holders, and one row per card and channel they reach.

A campaign's text exists in each language the merchant writes; a customer
whose language has no text gets the text of the site's default language
(``settings.LANGUAGE_CODE``) and, failing that, the first text written in
the order of ``settings.LANGUAGES``. Merchants have no language setting of
their own, so the site's default is the "merchant's default language".
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet, TimestampedModel
from .cards import LoyaltyCard
from .tenancy import Merchant, Store

CAMPAIGN_TEXT_MAX_LENGTH = 140
CAMPAIGN_LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)


def validate_https_url(value):
    if value and not value.lower().startswith("https://"):
        raise ValidationError(_("The link must start with https://."))


class CampaignAudience(models.TextChoices):
    ALL_ACTIVE = "all_active", _("All active cards")
    ACTIVE_RECENTLY = "active_recently", _("Cards active in the last N days")
    INACTIVE = "inactive", _("Cards inactive for at least N days")
    CAN_REDEEM = "can_redeem", _("Cards that can redeem a reward now")
    ENROLLED_AT_STORE = "enrolled_at_store", _("Cards enrolled at a store")

    @property
    def needs_days(self) -> bool:
        return self in (CampaignAudience.ACTIVE_RECENTLY, CampaignAudience.INACTIVE)

    @property
    def needs_store(self) -> bool:
        return self is CampaignAudience.ENROLLED_AT_STORE


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(TimestampedModel):
    """A message to the holders of a merchant's cards: texts, audience, time and progress.

    Written only through ``loyalty.services.campaigns``; the audience is read
    by ``loyalty.selectors.campaigns.campaign_audience``.
    """

    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("merchant")
    )
    text_en = models.CharField(_("text in English"), max_length=CAMPAIGN_TEXT_MAX_LENGTH, blank=True)
    text_fr = models.CharField(_("text in French"), max_length=CAMPAIGN_TEXT_MAX_LENGTH, blank=True)
    text_de = models.CharField(_("text in German"), max_length=CAMPAIGN_TEXT_MAX_LENGTH, blank=True)
    text_lb = models.CharField(_("text in Luxembourgish"), max_length=CAMPAIGN_TEXT_MAX_LENGTH, blank=True)
    link_url = models.URLField(
        _("link"), blank=True, validators=[validate_https_url], help_text=_("Optional, https:// only.")
    )
    audience = models.CharField(
        _("audience"), max_length=20, choices=CampaignAudience.choices, default=CampaignAudience.ALL_ACTIVE
    )
    audience_days = models.PositiveSmallIntegerField(
        _("days"), null=True, blank=True, help_text=_("For the audiences counted in days.")
    )
    audience_store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    recipients_count = models.PositiveIntegerField(_("cards reached"), default=0)
    # The sending run working on the campaign holds it until then (renewed after each batch); a run that
    # died lets it lapse, and the minute job then starts another (loyalty.services.campaigns).
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"),
        ]
        indexes = [
            models.Index(fields=["scheduled_at"], name="campaign_due_idx", condition=Q(status="scheduled")),
        ]

    def __str__(self):
        return self.text_for(settings.LANGUAGE_CODE)[:40] or str(self.pk)

    @property
    def wallet_message_id(self) -> str:
        """The id of its message on Google passes: a message is added once under it."""
        return f"campaign-{self.pk}"

    def text_for(self, language: str | None) -> str:
        """The text for ``language``, else the site's default language's, else the first one written."""
        for code in (language, settings.LANGUAGE_CODE, *CAMPAIGN_LANGUAGES):
            text = getattr(self, f"text_{code}", "") if code in CAMPAIGN_LANGUAGES else ""
            if text:
                return text
        return ""

    @property
    def can_be_changed(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


class DeliveryChannel(models.TextChoices):
    APPLE = "apple", _("Apple Wallet")
    GOOGLE = "google", _("Google Wallet")
    EMAIL = "email", _("E-mail")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class CampaignDelivery(models.Model):
    """One campaign reaching one card through one channel: never twice (unique), resumable (status)."""

    MERCHANT_LOOKUP = "campaign__merchant"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("campaign")
    )
    card = models.ForeignKey(LoyaltyCard, on_delete=models.PROTECT, related_name="+", verbose_name=_("card"))
    channel = models.CharField(_("channel"), max_length=10, choices=DeliveryChannel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # A machine reason ("no_consent", "erased", "SMTPRecipientsRefused"): never an address or a server's text.
    error = models.CharField(_("reason"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When a run took this wallet row (still pending while it works); a claim older than the lease is a dead run's.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("campaign delivery")
        verbose_name_plural = _("campaign deliveries")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "card", "channel"], name="campaign_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["campaign", "channel", "status"], name="campaign_delivery_status_idx"),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.card_id}/{self.channel}"
