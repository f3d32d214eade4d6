"""Back office for memberships (invite managers and staff to named stores), staff PINs and API tokens.

All save through ``staff.services``; the forms only validate. A PIN is
write-only: typed twice, hashed by the service, never shown back. API tokens
are listed read-only (never their key, its prefix or a hash) and revoked.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from loyalty.admin.scoping import (
    MerchantScopedAdmin,
    admin_actor,
    adopt_saved,
    audit,
    back_office_user,
    domain_error_text,
    field_values,
    scope_queryset,
)
from loyalty.exceptions import LoyaltyError
from loyalty.models import Store
from loyalty.services.audit import changes_between
from staff.models import ApiToken, Membership, Role, StaffPin
from staff.services.memberships import membership_invite, membership_sign_out_everywhere, membership_update
from staff.services.pins import (
    pin_create,
    pin_entry_locked_until,
    pin_unlock,
    pin_update,
    stores_pin_entry_locked,
    validate_pin_available,
    validate_pin_format,
)
from staff.services.tokens import token_revoke, token_state, tokens_with_access

# --- Memberships -------------------------------------------------------------------------------


# The language of the e-mails the back office sends them (the daily alert digest).
AUDITED_MEMBERSHIP_FIELDS = ("role", "stores", "language", "is_active")


class _LanguageOptional:
    """Left out of a form (a script, an older page), the language stays as it is (new: the site's default)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "language" in self.fields:
            self.fields["language"].required = False


class MembershipInviteForm(_LanguageOptional, forms.ModelForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    password1 = forms.CharField(
        label=_("First password"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Hand it over in person; they can change it after logging in."),
    )
    password2 = forms.CharField(
        label=_("First password (again)"), strip=False, widget=forms.PasswordInput(render_value=False)
    )

    class Meta:
        model = Membership
        fields = ("merchant", "role", "stores", "language")
        widgets = {"stores": forms.CheckboxSelectMultiple}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class MembershipChangeForm(_LanguageOptional, forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("role", "stores", "language", "is_active")
        widgets = {"stores": forms.CheckboxSelectMultiple}


def _allowed_roles(request) -> list[str]:
    if back_office_user(request).is_platform_admin:
        return [Role.OWNER, Role.MANAGER, Role.STAFF]
    return [Role.MANAGER, Role.STAFF]


@admin.register(Membership)
class MembershipAdmin(MerchantScopedAdmin):
    merchant_field = "merchant"
    list_display = ("user", "role", "store_names", "is_active", "merchant")
    list_filter = ("role", "is_active", "merchant")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "merchant")
    actions = ["sign_out_everywhere"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            fields = ["merchant", "username", "email", "role", "stores", "language", "password1", "password2"]
        else:
            fields = ["user", "merchant", "role", "stores", "language", "is_active"]
        if not back_office_user(request).is_platform_admin:
            fields.remove("merchant")
        return [(None, {"fields": fields})]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "merchant"] if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = MembershipInviteForm if obj is None else MembershipChangeForm
        if obj is None or self.has_change_permission(request, obj):
            kwargs["fields"] = None  # the form's own fields; a read-only view keeps the admin's
        form = super().get_form(request, obj, **kwargs)
        role_field = form.base_fields.get("role")
        if role_field is not None:
            allowed = _allowed_roles(request)
            role_field.choices = [(value, label) for value, label in role_field.choices if value in allowed]
        return form

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if not back_office_user(request).is_platform_admin:
            filters = [entry for entry in filters if not (isinstance(entry, tuple) and entry[0] == "merchant")]
        return filters

    @admin.display(description=_("stores"))
    def store_names(self, obj):
        if obj.role == Role.OWNER:
            return _("all stores")
        return ", ".join(store.name for store in obj.stores.all()) or "—"

    def has_change_permission(self, request, obj=None):
        # Owners are named by the platform; an owner cannot change another owner (or themselves).
        if obj is not None and obj.role == Role.OWNER and not back_office_user(request).is_platform_admin:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        who = back_office_user(request)
        merchant = obj.merchant if who.is_platform_admin else who.merchant
        actor = admin_actor(request, merchant=merchant)
        data = form.cleaned_data
        if not change:
            membership = membership_invite(
                actor=actor,
                username=data["username"],
                email=data.get("email", ""),
                role=data["role"],
                stores=data["stores"],
                password=data["password1"],
                language=data.get("language") or None,
            )
            adopt_saved(obj, membership)
            audit(
                request,
                action="create",
                obj=membership,
                summary=f"membership of {membership.user} as {membership.role}",
                changes=changes_between({}, field_values(membership, AUDITED_MEMBERSHIP_FIELDS)),
            )
            return
        before_row = Membership.objects.get(pk=obj.pk)
        before = field_values(before_row, AUDITED_MEMBERSHIP_FIELDS)
        result = membership_update(
            actor=actor,
            membership=before_row,
            role=data["role"],
            stores=data["stores"],
            is_active=data["is_active"],
            language=data.get("language") or None,
        )
        changes = changes_between(before, field_values(result.membership, AUDITED_MEMBERSHIP_FIELDS))
        if changes:
            audit(
                request,
                action="change",
                obj=result.membership,
                summary=f"membership of {result.membership.user}",
                changes=changes,
            )
        if result.tokens_revoked:
            self.message_user(
                request,
                _("%(count)d scanner-app token(s) of stores no longer covered were revoked.")
                % {"count": result.tokens_revoked},
                messages.INFO,
            )

    def save_related(self, request, form, formsets, change):
        """The service already saved the stores."""

    @admin.action(
        description=_("Sign out everywhere (revoke API tokens, end back-office sessions)"), permissions=["change"]
    )
    def sign_out_everywhere(self, request, queryset):
        done = tokens = sessions = 0
        for membership in queryset.select_related("user", "merchant"):
            try:
                result = membership_sign_out_everywhere(
                    actor=admin_actor(request, merchant=membership.merchant), membership=membership
                )
            except LoyaltyError as error:
                self.message_user(request, f"{membership}: {domain_error_text(error)}", messages.ERROR)
                continue
            audit(
                request,
                action="action",
                obj=membership,
                summary=(
                    f"{membership.user} signed out everywhere: {result.tokens_revoked} token(s) revoked, "
                    f"{result.sessions_ended} session(s) ended"
                ),
            )
            done += 1
            tokens += result.tokens_revoked
            sessions += result.sessions_ended
        if done:
            self.message_user(
                request,
                _("%(tokens)d API token(s) revoked and %(sessions)d back-office session(s) ended.")
                % {"tokens": tokens, "sessions": sessions},
                messages.SUCCESS,
            )


# --- Staff PINs ---------------------------------------------------------------------------------


class StaffPinForm(forms.ModelForm):
    pin = forms.CharField(
        label=_("PIN"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "inputmode": "numeric"}),
        help_text=_("4 to 8 digits, different from the other active PINs of the store."),
    )
    pin_confirmation = forms.CharField(
        label=_("PIN (again)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    class Meta:
        model = StaffPin
        fields = ("store", "name", "staff_number", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["pin"].help_text = _(
                "4 to 8 digits, different from the other active PINs of the store. Leave empty to keep the current PIN."
            )

    def clean(self):
        cleaned = super().clean()
        pin, confirmation = cleaned.get("pin", ""), cleaned.get("pin_confirmation", "")
        if self.instance.pk is None and not pin:
            self.add_error("pin", _("Choose the PIN."))
        if pin:
            try:
                validate_pin_format(pin)
            except LoyaltyError as error:
                self.add_error("pin", str(error.message))
            if pin != confirmation:
                self.add_error("pin_confirmation", _("The two PINs differ."))
        self._check_available(pin)
        return cleaned

    def _check_available(self, pin: str) -> None:
        """A value another active PIN of the store has: said on the form, what was typed kept (the service rechecks)."""
        staff_pin = self.instance if self.instance.pk is not None else None
        store = staff_pin.store if staff_pin is not None else self.cleaned_data.get("store")
        if store is None or self.has_error("pin"):
            return
        if staff_pin is not None and not self.cleaned_data.get("is_active"):
            return  # an inactive PIN may share its value
        if pin or (staff_pin is not None and not staff_pin.is_active):  # a new value, or reactivating the old one
            try:
                validate_pin_available(store=store, pin=pin or None, staff_pin=staff_pin)
            except LoyaltyError as error:
                self.add_error("pin" if pin else "is_active", str(error.message))


@admin.register(StaffPin)
class StaffPinAdmin(MerchantScopedAdmin):
    """Staff PINs, and the lockouts that stop them at the till: a PIN's own, and its store's (shown on each PIN
    and above the list); "Unlock" lifts both."""

    form = StaffPinForm
    list_display = (
        "name",
        "store",
        "staff_number",
        "is_active",
        "entry_locked_until",
        "failed_attempts",
        "last_used_at",
    )
    list_filter = ("store", "is_active")
    search_fields = ("name", "staff_number")
    list_select_related = ("store__pin_guard",)  # the store's lockout, in the list's own query
    actions = ["unlock_pins", "deactivate_pins"]

    def get_fieldsets(self, request, obj=None):
        fields = ["store", "name", "staff_number", "pin", "pin_confirmation", "is_active"]
        if obj is not None:
            fields += ["failed_attempts", "entry_locked_until", "last_used_at"]
        return [(None, {"fields": fields})]

    def get_readonly_fields(self, request, obj=None):
        # The lookup digest depends on the store: a PIN never moves to another store.
        return ["store", "failed_attempts", "entry_locked_until", "last_used_at"] if obj is not None else []

    @admin.display(description=_("locked until"))
    def entry_locked_until(self, obj):
        """The till refuses this PIN until then: for its own wrong PINs or because its store's PIN entry is locked."""
        return pin_entry_locked_until(staff_pin=obj)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            for guard in stores_pin_entry_locked(stores=scope_queryset(Store.objects.all(), request)):
                ends_at = date_format(timezone.localtime(guard.locked_until), "DATETIME_FORMAT")
                self.message_user(
                    request,
                    _(
                        "PIN entry at %(store)s is locked until %(time)s after too many wrong PINs: the till refuses "
                        "every PIN there. To open it now, select one of its PINs and choose “Unlock”."
                    )
                    % {"store": guard.store.name, "time": ends_at},
                    messages.WARNING,
                )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            store = data["store"]
            pin = pin_create(
                actor=admin_actor(request, merchant=store.merchant),
                store=store,
                name=data["name"],
                pin=data["pin"],
                staff_number=data.get("staff_number", ""),
            )
            adopt_saved(obj, pin)
            audit(request, action="create", obj=pin, summary=f"staff PIN {pin}", changes={"pin": ["***", "***"]})
            return
        current = StaffPin.objects.select_related("store__merchant").get(pk=obj.pk)
        before = field_values(current, ("name", "staff_number", "is_active"))
        updated = pin_update(
            actor=admin_actor(request, merchant=current.store.merchant),
            staff_pin=current,
            name=data["name"],
            staff_number=data.get("staff_number", ""),
            is_active=data["is_active"],
            pin=data["pin"] or None,
        )
        changes = changes_between(before, field_values(updated, ("name", "staff_number", "is_active")))
        if data["pin"]:
            changes["pin"] = ["***", "***"]
        if changes:
            audit(request, action="change", obj=updated, summary=f"staff PIN {updated}", changes=changes)

    def save_related(self, request, form, formsets, change):
        """No many-to-many fields; the service saved everything."""

    def _each_pin(self, request, queryset, operation, done_message):
        done = 0
        for staff_pin in queryset.select_related("store__merchant"):
            try:
                operation(staff_pin)
                done += 1
            except LoyaltyError as error:
                self.message_user(request, f"{staff_pin}: {domain_error_text(error)}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Unlock (the PIN and its store's PIN entry)"), permissions=["change"])
    def unlock_pins(self, request, queryset):
        def unlock(staff_pin):
            before = field_values(staff_pin, ("failed_attempts", "locked_until"))
            unlocked = pin_unlock(actor=admin_actor(request, merchant=staff_pin.store.merchant), staff_pin=staff_pin)
            changes = changes_between(before, field_values(unlocked, ("failed_attempts", "locked_until")))
            audit(request, action="action", obj=unlocked, summary=f"staff PIN {unlocked} unlocked", changes=changes)

        self._each_pin(request, queryset, unlock, _("%(count)d PIN(s) unlocked."))

    @admin.action(description=_("Deactivate"), permissions=["change"])
    def deactivate_pins(self, request, queryset):
        def deactivate(staff_pin):
            pin_update(
                actor=admin_actor(request, merchant=staff_pin.store.merchant), staff_pin=staff_pin, is_active=False
            )
            audit(
                request,
                action="change",
                obj=staff_pin,
                summary=f"staff PIN {staff_pin}",
                changes={"is_active": [True, False]},
            )

        self._each_pin(request, queryset.filter(is_active=True), deactivate, _("%(count)d PIN(s) deactivated."))


# --- API tokens ---------------------------------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(MerchantScopedAdmin):
    """The tills and scripts signed in to the merchant's stores: who, where, on what, when last; and "Revoke".

    Owners see their merchant's tokens, platform administrators every token
    (their own admin-API tokens too); managers have no permission for it.
    """

    list_display = ("user", "role", "store", "device", "created_at", "last_used_at", "expires_at", "status")
    list_filter = ("store",)
    search_fields = ("user__username",)
    fields = ("user", "role", "store", "user_agent", "created_at", "last_used_at", "expires_at", "revoked_at", "status")
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def get_queryset(self, request):
        # The status column reads what authentication reads, in the list's own query.
        return tokens_with_access(super().get_queryset(request))

    @admin.display(description=_("role"))
    def role(self, obj):
        if obj.membership is None:
            return _("platform administrator")
        return obj.membership.get_role_display()

    @admin.display(description=_("device (User-Agent)"), ordering="user_agent")
    def device(self, obj):
        return Truncator(obj.user_agent).chars(60) or "—"

    @admin.display(description=_("status"))
    def status(self, obj):
        return token_state(obj, now=timezone.now()).label

    def has_add_permission(self, request):
        return False  # tokens come from signing in at a till (POST /api/v1/auth/token)

    def has_change_permission(self, request, obj=None):
        # "Revoke" needs "change"; the page of a token itself stays read-only.
        return obj is None and super().has_change_permission(request)

    @admin.action(description=_("Revoke"), permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user", "store__merchant"):
            token_revoke(token=token)
            audit(request, action="action", obj=token, summary=f"API token {token} revoked")
            revoked += 1
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": revoked}, messages.SUCCESS)
