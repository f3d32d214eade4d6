"""Fraud alerts: read-only findings of the detector, reviewed (dismiss with a reason, confirm) through services.

Owners see every alert of their merchant; managers (their group has the
"view/change alert" permissions since ``loyalty/0016``) the alerts of the
stores of their membership except those about themselves, and no alert tied
to no store (``loyalty.selectors.alerts.alerts_visible_to``, applied by the
back office's scoping and again by the review services).
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from loyalty.csv_safety import SafeCsvWriter
from loyalty.domain.cards import CardRef
from loyalty.exceptions import LoyaltyError
from loyalty.models import Alert, Store
from loyalty.selectors.staff_activity import MAX_DAYS, staff_activity
from loyalty.services.alerts import alert_confirm, alert_dismiss
from loyalty.services.cards import card_deactivate
from staff.services.pins import pin_update

from .scoping import (
    MANAGER,
    MerchantScopedAdmin,
    admin_actor,
    audit,
    back_office_user,
    domain_error_text,
    scope_queryset,
)
from .transactions import Echo


class DismissAlertForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, help_text=_("Why this is not abuse; kept with the alert.")
    )


ACTIVITY_COLUMNS = (
    ("day", _("day")),
    ("staff", _("staff member")),
    ("store", _("store")),
    ("operations", _("operations")),
    ("stamps_earned", _("stamps earned")),
    ("stamp_rewards", _("stamp rewards")),
    ("points_earned", _("points earned")),
    ("points_redeemed", _("points redeemed")),
    ("voids", _("voids")),
    ("adjustments", _("adjustments")),
    ("enrollments", _("enrollments")),
    ("distinct_cards", _("distinct cards")),
    ("out_of_hours", _("out of hours")),
)


class StaffActivityForm(forms.Form):
    first_day = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)

    def __init__(self, data, *, stores):
        super().__init__(data)
        self.fields["store"].queryset = stores

    def clean(self):
        cleaned = super().clean()
        first_day, last_day = cleaned.get("first_day"), cleaned.get("last_day")
        if first_day and last_day and not 0 <= (last_day - first_day).days < MAX_DAYS:
            raise forms.ValidationError(
                _("Choose a period of at most %(days)d days, ending after it starts.") % {"days": MAX_DAYS}
            )
        return cleaned


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
    change_list_template = "admin/back_office/alert_change_list.html"

    def get_urls(self):
        return [
            path(
                "staff-activity/",
                self.admin_site.admin_view(self.staff_activity_view),
                name="loyalty_alert_staff_activity",
            ),
            path(
                "staff-activity.csv",
                self.admin_site.admin_view(self.staff_activity_export_view),
                name="loyalty_alert_staff_activity_export",
            ),
            *super().get_urls(),
        ]

    def _staff_activity(self, request):
        """The report's form and rows for the request's filters (rows None until the form is valid).

        An owner's report covers every store (and the back office's own
        adjustments); a manager's the stores of their membership. A store
        outside those is a 404, like any object of another merchant.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        who = back_office_user(request)
        stores = scope_queryset(Store.objects.all(), request)
        if request.GET.get("store") and not stores.filter(pk=request.GET["store"]).exists():
            raise Http404("No such store for your merchant.")
        today = timezone.localdate()
        data = (
            request.GET
            if "first_day" in request.GET
            else {
                "first_day": today - timedelta(days=6),
                "last_day": today,
                "store": request.GET.get("store", ""),
            }
        )
        form = StaffActivityForm(data, stores=stores)
        if not form.is_valid() or who.merchant is None:
            return form, None
        store = form.cleaned_data["store"]
        store_ids = [store.pk] if store else (sorted(who.store_ids) if who.role == MANAGER else None)
        rows = staff_activity(
            merchant=who.merchant,
            first_day=form.cleaned_data["first_day"],
            last_day=form.cleaned_data["last_day"],
            store_ids=store_ids,
        )
        return form, [[getattr(row, name) for name, _label in ACTIVITY_COLUMNS] for row in rows]

    def staff_activity_view(self, request):
        form, rows = self._staff_activity(request)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Staff activity"),
            "opts": self.model._meta,
            "form": form,
            "rows": rows,
            "columns": ACTIVITY_COLUMNS,
        }
        return TemplateResponse(request, "admin/back_office/staff_activity.html", context)

    def staff_activity_export_view(self, request):
        form, rows = self._staff_activity(request)
        if rows is None:
            return self.staff_activity_view(request)
        audit(
            request,
            action="export",
            object_type="staff activity",
            merchant=back_office_user(request).merchant,
            summary=f"staff activity CSV export {request.GET.urlencode()}"[:255],
        )
        writer = SafeCsvWriter(Echo())
        lines = [writer.writerow([name for name, _label in ACTIVITY_COLUMNS])]
        # Staff names are typed by owners and managers: the writer keeps a formula a text.
        lines += [
            writer.writerow([cell.isoformat() if hasattr(cell, "isoformat") else cell for cell in row]) for row in rows
        ]
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        first_day, last_day = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
        response["Content-Disposition"] = f'attachment; filename="staff-activity-{first_day}-{last_day}.csv"'
        return response

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
