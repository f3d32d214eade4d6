"""Fraud alerts: read-only findings of the detector, reviewed (dismiss with a reason, confirm) through services.

Owners see every alert of their merchant; managers (their group has the
"view/change alert" permissions since ``loyalty/0016``) the alerts of the
stores of their membership except those about themselves, and no alert tied
to no store (``loyalty.selectors.alerts.alerts_visible_to``, applied by the
back office's scoping and again by the review services).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from loyalty.domain.cards import CardRef
from loyalty.exceptions import LoyaltyError
from loyalty.models import Alert
from loyalty.services.alerts import alert_confirm, alert_dismiss
from loyalty.services.cards import card_deactivate
from staff.services.pins import pin_update

from .scoping import MerchantScopedAdmin, admin_actor, audit, domain_error_text


class DismissAlertForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, help_text=_("Why this is not abuse; kept with the alert.")
    )


@admin.register(Alert)
class AlertAdmin(MerchantScopedAdmin):
    merchant_field = "merchant"
    list_display = ("created_at", "rule", "severity", "status", "card", "staff_pin", "user", "store")
    list_filter = ("rule", "status", "store")
    list_select_related = ("card", "staff_pin__store", "user", "store__merchant")
    search_fields = ("=card__card_number",)
    fields = (
        "merchant",
        "rule",
        "severity",
        "status",
        "card_link",
        "staff_pin_link",
        "user",
        "store",
        "window_start_at",
        "window_end_at",
        "evidence_summary",
        "ledger_rows",
        "status_reason",
        "status_changed_by",
        "status_changed_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ["dismiss_alerts", "confirm_alerts", "deactivate_alert_cards", "deactivate_alert_staff_pins"]
    change_form_template = "admin/back_office/change_form_with_actions.html"

    def has_add_permission(self, request):
        return False  # alerts come from the detector only

    def has_change_permission(self, request, obj=None):
        # The review actions need "change"; the detail page itself stays read-only.
        return obj is None and super().has_change_permission(request)

    @admin.display(description=_("card"))
    def card_link(self, obj):
        if obj.card_id is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:loyalty_loyaltycard_change", args=[obj.card_id]), obj.card
        )

    @admin.display(description=_("staff PIN"))
    def staff_pin_link(self, obj):
        if obj.staff_pin_id is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:staff_staffpin_change", args=[obj.staff_pin_id]), obj.staff_pin
        )

    @admin.display(description=_("evidence"))
    def evidence_summary(self, obj):
        counts = {name: value for name, value in obj.evidence.items() if name != "transaction_ids"}
        return format_html_join(", ", "{}: {}", ((name.replace("_", " "), value) for name, value in counts.items()))

    @admin.display(description=_("ledger rows"))
    def ledger_rows(self, obj):
        ids = obj.evidence.get("transaction_ids", [])
        if not ids:
            return "-"
        return format_html_join(
            " ",
            '<a href="{}">#{}</a>',
            ((reverse("admin:loyalty_loyaltytransaction_change", args=[pk]), pk) for pk in ids),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        alert = self.get_object(request, object_id)
        applicable = {
            "dismiss_alerts": alert.status == "open",
            "confirm_alerts": alert.status == "open",
            "deactivate_alert_cards": alert.card is not None and alert.card.is_active,
            "deactivate_alert_staff_pins": alert.staff_pin is not None and alert.staff_pin.is_active,
        }
        extra = {**self.object_actions_context(request, applies=applicable.__getitem__), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def _review_each(self, request, queryset, review, done_message):
        done = 0
        for alert in queryset:
            try:
                result = review(alert)
            except LoyaltyError as error:
                self.message_user(request, f"{alert}: {domain_error_text(error)}", messages.ERROR)
                continue
            audit(
                request,
                action="action",
                obj=result.alert,
                summary=f"alert {result.alert.pk} {result.alert.status}: {result.alert.status_reason}"[:255],
                changes={"status": [result.previous_status, result.alert.status]},
            )
            done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Dismiss (with a reason)…"), permissions=["change"])
    def dismiss_alerts(self, request, queryset):
        form = DismissAlertForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._review_each(
                request,
                queryset,
                lambda alert: alert_dismiss(
                    actor=admin_actor(request, merchant=alert.merchant), alert_id=alert.pk, reason=reason
                ),
                _("%(count)d alert(s) dismissed."),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dismiss alerts"),
            "opts": self.model._meta,
            "alerts": queryset.select_related("card"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/back_office/alert_dismiss.html", context)

    @admin.action(description=_("Confirm"), permissions=["change"])
    def confirm_alerts(self, request, queryset):
        self._review_each(
            request,
            queryset,
            lambda alert: alert_confirm(actor=admin_actor(request, merchant=alert.merchant), alert_id=alert.pk),
            _("%(count)d alert(s) confirmed."),
        )

    def _deactivate_subjects(self, request, alerts, *, subject: str, deactivate, describe, done_message):
        """Deactivate each alert's card or staff PIN (``subject``) once, however many alerts name it; audited."""
        done = set()
        for alert in alerts:
            subject_id = getattr(alert, f"{subject}_id")
            if subject_id in done:
                continue
            try:
                deactivate(alert, admin_actor(request, merchant=alert.merchant))
            except LoyaltyError as error:
                self.message_user(request, f"{alert}: {domain_error_text(error)}", messages.ERROR)
                continue
            audit(
                request,
                action="change",
                obj=getattr(alert, subject),
                summary=f"{describe(alert)} (alert {alert.pk})",
                changes={"is_active": [True, False]},
            )
            done.add(subject_id)
        if done:
            self.message_user(request, done_message % {"count": len(done)}, messages.SUCCESS)

    @admin.action(description=_("Deactivate the card"), permissions=["change"])
    def deactivate_alert_cards(self, request, queryset):
        self._deactivate_subjects(
            request,
            queryset.select_related("card", "merchant").filter(card__is_active=True),
            subject="card",
            deactivate=lambda alert, actor: card_deactivate(
                actor=actor,
                card_ref=CardRef(card_id=alert.card_id),
                reason=f"Deactivated from alert {alert.pk} in the back office by {request.user}.",
            ),
            describe=lambda alert: f"card {alert.card.card_number}",
            done_message=_("%(count)d card(s) deactivated."),
        )

    @admin.action(description=_("Deactivate the staff PIN"), permissions=["change"])
    def deactivate_alert_staff_pins(self, request, queryset):
        self._deactivate_subjects(
            request,
            queryset.select_related("staff_pin__store", "merchant").filter(staff_pin__is_active=True),
            subject="staff_pin",
            deactivate=lambda alert, actor: pin_update(actor=actor, staff_pin=alert.staff_pin, is_active=False),
            describe=lambda alert: f"staff PIN {alert.staff_pin}",
            done_message=_("%(count)d PIN(s) deactivated."),
        )
