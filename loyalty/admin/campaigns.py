"""The back office's campaigns: write a message, see how many cards it reaches, send it now, schedule or cancel it.

Every save and action goes through ``loyalty.services.campaigns`` (which
checks the role, validates and writes the audit log); the sending itself
happens in a Celery task, never in the admin's request.
"""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loyalty.exceptions import LoyaltyError
from loyalty.models import Campaign, CampaignDelivery, DeliveryStatus
from loyalty.selectors.campaigns import campaign_delivery_counts, campaign_cards
from loyalty.services.campaigns import (
    CAMPAIGN_FIELDS,
    campaign_cancel,
    campaign_create,
    campaign_schedule,
    campaign_update,
)

from .scoping import MerchantScopedAdmin, admin_actor, domain_error_text

FAILURES_SHOWN = 50


@admin.register(Campaign)
class CampaignAdmin(MerchantScopedAdmin):
    merchant_field = "merchant"
    list_display = ("__str__", "audience", "status", "scheduled_at", "recipients_count", "created_at")
    list_filter = ("status", "audience")
    fieldsets = (
        (None, {"fields": ("merchant", "text_en", "text_fr", "text_de", "text_lb", "link_url")}),
        (_("Audience"), {"fields": ("audience", "audience_days", "audience_store", "audience_count")}),
        (_("When"), {"fields": ("scheduled_at",)}),
        (
            _("Progress"),
            {
                "fields": (
                    "status",
                    "created_by",
                    "started_at",
                    "finished_at",
                    "cancelled_at",
                    "recipients_count",
                    "delivery_summary",
                    "delivery_failures",
                )
            },
        ),
    )
    actions = ["send_now", "cancel_campaigns"]

    def get_readonly_fields(self, request, obj=None):
        readonly = [
            *super().get_readonly_fields(request, obj),
            "audience_count",
            "status",
            "created_by",
            "started_at",
            "finished_at",
            "cancelled_at",
            "recipients_count",
            "delivery_summary",
            "delivery_failures",
        ]
        if obj is not None and not obj.can_be_changed:
            readonly += [*CAMPAIGN_FIELDS, "scheduled_at"]
        return readonly

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "scheduled_at" and field is not None:
            field.help_text = _(
                "Empty: the campaign stays a draft until you use “Send now”. "
                "The time is in the time zone of your first store."
            )
        return field

    def save_through_service(self, request, obj, form, change):
        actor = admin_actor(request, merchant=obj.merchant)
        fields = self.form_fields(form, CAMPAIGN_FIELDS, change=change)
        if change:
            campaign = campaign_update(actor=actor, campaign_id=obj.pk, **fields)
        else:
            campaign = campaign_create(actor=actor, **fields)
        send_at = form.cleaned_data.get("scheduled_at")
        if send_at is not None and (not change or "scheduled_at" in form.changed_data):
            # The form read the typed time in the site's zone; the service reads it in the merchant's.
            campaign = campaign_schedule(actor=actor, campaign_id=campaign.pk, send_at=timezone.make_naive(send_at))
        return campaign

    @admin.display(description=_("cards in the audience now"))
    def audience_count(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        try:
            return campaign_cards(campaign=obj).count()
        except ValueError:
            return "—"

    @admin.display(description=_("deliveries"))
    def delivery_summary(self, obj):
        counts = campaign_delivery_counts(campaign=obj) if obj is not None and obj.pk else {}
        if not counts:
            return "—"
        channel_names = dict(CampaignDelivery._meta.get_field("channel").choices)
        status_names = dict(DeliveryStatus.choices)
        return format_html_join(
            mark_safe("<br>"),
            "{}: {}",
            (
                (
                    channel_names.get(channel, channel),
                    ", ".join(
                        f"{status_names.get(status, status)} {count}" for status, count in sorted(by_status.items())
                    ),
                )
                for channel, by_status in sorted(counts.items())
            ),
        )

    @admin.display(description=_("failures"))
    def delivery_failures(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        failures = (
            CampaignDelivery.objects.filter(campaign=obj, status=DeliveryStatus.FAILED)
            .select_related("card")
            .order_by("pk")[:FAILURES_SHOWN]
        )
        rows = [(delivery.card.card_number, delivery.get_channel_display(), delivery.error) for delivery in failures]
        if not rows:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} ({}): {}", rows)

    def _run(self, request, queryset, operation, done_message):
        done = 0
        for campaign in queryset:
            try:
                operation(admin_actor(request, merchant=campaign.merchant), campaign)
            except LoyaltyError as error:
                self.message_user(request, f"{campaign}: {domain_error_text(error)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Send now"), permissions=["change"])
    def send_now(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda actor, campaign: campaign_schedule(actor=actor, campaign_id=campaign.pk),
            lambda count: (
                ngettext("%(count)d campaign is being sent.", "%(count)d campaigns are being sent.", count)
                % {"count": count}
            ),
        )

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel_campaigns(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda actor, campaign: campaign_cancel(actor=actor, campaign_id=campaign.pk),
            lambda count: (
                ngettext("%(count)d campaign cancelled.", "%(count)d campaigns cancelled.", count) % {"count": count}
            ),
        )
