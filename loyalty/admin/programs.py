"""The program page (with its rewards catalog) and the merchant's settings.

Programs and rewards are saved through ``loyalty.services.programs``; the
ModelForm only validates and shows the model's own errors in plain words.
"""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from loyalty.models import AUTOMATIC_MESSAGE_DEFAULT_TEXTS, AutomaticMessageKind, MerchantSettings, Program, Reward
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.audit import changes_between
from loyalty.services.programs import (
    PROGRAM_FIELDS,
    REWARD_FIELDS,
    program_create,
    program_update,
    reward_create,
    reward_update,
)
from loyalty.services.tenancy import (
    ALERT_SETTINGS_FIELDS,
    AUTOMATIC_MESSAGE_SETTINGS_FIELDS,
    MERCHANT_SETTINGS_FIELDS,
    merchant_settings_update,
)

from .scoping import (
    MerchantScopedAdmin,
    MerchantScopedInline,
    admin_actor,
    adopt_saved,
    audit,
    back_office_user,
    field_values,
)

AUDITED_PROGRAM_FIELDS = tuple(sorted(PROGRAM_FIELDS))
AUDITED_REWARD_FIELDS = tuple(sorted(REWARD_FIELDS))


class ProgramForm(forms.ModelForm):
    privacy_url = forms.URLField(label=_("privacy policy URL"), required=False, assume_scheme="https")

    class Meta:
        model = Program
        fields = "__all__"
        widgets = {
            "background_color": forms.TextInput(attrs={"type": "color", "data-preview": "background"}),
            "text_color": forms.TextInput(attrs={"type": "color", "data-preview": "text"}),
            "terms_text": forms.Textarea(attrs={"rows": 4}),
        }


class RewardInline(MerchantScopedInline, admin.TabularInline):
    model = Reward
    fields = ("name", "description", "points_required", "position", "is_active")
    extra = 1
    can_delete = False  # rewards named by redemptions stay; untick "active" to withdraw one
    form = forms.modelform_factory(
        Reward,
        fields=["name", "description", "points_required", "position", "is_active"],
        widgets={"description": forms.Textarea(attrs={"rows": 1, "cols": 30})},
    )


def _service_fields(form, names) -> dict:
    fields = {}
    for name in names:
        if name not in form.cleaned_data:
            continue
        value = form.cleaned_data[name]
        if name == "logo" and value is False:  # "clear" ticked
            value = ""
        fields[name] = value
    return fields


@admin.register(Program)
class ProgramAdmin(MerchantScopedAdmin):
    form = ProgramForm
    inlines = [RewardInline]
    merchant_field = "merchant"
    list_display = ("name", "merchant", "loyalty_type", "stamps_target", "points_per_euro", "is_active")
    list_filter = ("loyalty_type", "is_active")
    search_fields = ("name", "merchant__name")
    readonly_fields = ("colour_preview",)
    fieldsets = (
        (None, {"fields": ["merchant", "name", "is_active"]}),
        (_("Type"), {"fields": ["loyalty_type"]}),
        (_("Stamps"), {"fields": ["stamps_target", "stamps_reward_description"]}),
        (_("Points"), {"fields": ["points_per_euro", "minimum_purchase_cents", "points_expiration_days"]}),
        (_("Anti-fraud"), {"fields": ["cooldown_minutes", "max_daily_stamps", "require_staff_pin"]}),
        (_("Branding"), {"fields": ["background_color", "text_color", "logo", "colour_preview"]}),
        (_("Terms"), {"fields": ["terms_text", "privacy_url"]}),
    )
    change_form_template = "admin/back_office/program_change_form.html"

    @admin.display(description=_("preview"))
    def colour_preview(self, obj):
        background = obj.background_color if obj and obj.pk else "#1F3A5F"
        text = obj.text_color if obj and obj.pk else "#FFFFFF"
        name = obj.name if obj and obj.pk else _("Your card")
        # Data attributes, not a style attribute (the Content-Security-Policy forbids those):
        # static/loyalty/admin/program_preview.js paints the preview from them or from the colour inputs.
        return format_html(
            '<div id="bo-card-preview" class="bo-card-preview" data-background="{}" data-text="{}">'
            "<strong data-preview-name>{}</strong><span>★ ★ ★ ☆ ☆</span></div>",
            background,
            text,
            name,
        )

    def add_view(self, request, form_url="", extra_context=None):
        who = back_office_user(request)
        if not who.is_platform_admin:
            existing = Program.objects.for_merchant(who.merchant).first()
            if existing is not None:
                self.message_user(
                    request,
                    _(
                        "Your business already has a loyalty program (one program is valid at all your stores). "
                        "Edit it here."
                    ),
                    messages.WARNING,
                )
                return HttpResponseRedirect(reverse("admin:loyalty_program_change", args=[existing.pk]))
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        merchant = obj.merchant if back_office_user(request).is_platform_admin else back_office_user(request).merchant
        actor = admin_actor(request, merchant=merchant)
        if change:
            before = field_values(Program.objects.get(pk=obj.pk), AUDITED_PROGRAM_FIELDS)
            program = program_update(
                actor=actor, **_service_fields(form, [n for n in form.changed_data if n in PROGRAM_FIELDS])
            )
        else:
            before = {}
            program = program_create(actor=actor, **_service_fields(form, PROGRAM_FIELDS))
        adopt_saved(obj, program)
        changes = changes_between(before, field_values(program, AUDITED_PROGRAM_FIELDS))
        if changes:
            audit(
                request,
                action="change" if change else "create",
                obj=program,
                summary=f"program {program}",
                changes=changes,
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is not Reward:
            return super().save_formset(request, form, formset, change)
        actor = admin_actor(request, merchant=form.instance.merchant)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for reward_form in formset.forms:
            if not reward_form.has_changed():
                continue
            fields = _service_fields(reward_form, REWARD_FIELDS)
            if reward_form.instance.pk is None:
                reward = reward_create(actor=actor, **fields)
                formset.new_objects.append(reward)
                audit(
                    request,
                    action="create",
                    obj=reward,
                    summary=f"reward {reward}",
                    changes=changes_between({}, fields),
                )
            else:
                before = field_values(Reward.objects.get(pk=reward_form.instance.pk), AUDITED_REWARD_FIELDS)
                changed = [name for name in reward_form.changed_data if name in REWARD_FIELDS]
                reward = reward_update(
                    actor=actor, reward_id=reward_form.instance.pk, **{n: fields[n] for n in changed}
                )
                formset.changed_objects.append((reward, changed))
                changes = changes_between(before, field_values(reward, AUDITED_REWARD_FIELDS))
                audit(request, action="change", obj=reward, summary=f"reward {reward}", changes=changes)


@admin.register(MerchantSettings)
class MerchantSettingsAdmin(MerchantScopedAdmin):
    merchant_field = "merchant"
    fieldsets = (
        (None, {"fields": ("merchant", "pin_max_failed_attempts", "pin_lockout_minutes", "self_enrollment_open")}),
        (_("Fraud alerts"), {"fields": ALERT_SETTINGS_FIELDS}),
        *(
            (
                AutomaticMessageKind(kind).label,
                {
                    "fields": fields,
                    "classes": ("collapse",),
                    "description": format_lazy(
                        "{}: “{}”", _("Default text"), AUTOMATIC_MESSAGE_DEFAULT_TEXTS[kind]
                    ),
                },
            )
            for kind, fields in AUTOMATIC_MESSAGE_SETTINGS_FIELDS.items()
        ),
    )
    list_display = ("merchant", "pin_max_failed_attempts", "pin_lockout_minutes", "self_enrollment_open")
    audited_fields = MERCHANT_SETTINGS_FIELDS

    def save_through_service(self, request, obj, form, change):
        """A platform admin's "add" makes the merchant's one row (``merchant_settings_get``) and sets it."""
        actor = admin_actor(request, merchant=obj.merchant)
        return merchant_settings_update(actor=actor, **self.form_fields(form, MERCHANT_SETTINGS_FIELDS, change=change))

    def has_add_permission(self, request):
        # A merchant's row exists from its first use; only platform admins create one by hand.
        return back_office_user(request).is_platform_admin and super().has_add_permission(request)

    def changelist_view(self, request, extra_context=None):
        who = back_office_user(request)
        if not who.is_platform_admin and who.merchant is not None and self.has_view_or_change_permission(request):
            row = merchant_settings_get(merchant=who.merchant)
            return HttpResponseRedirect(reverse("admin:loyalty_merchantsettings_change", args=[row.pk]))
        return super().changelist_view(request, extra_context)
