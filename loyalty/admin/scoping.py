"""The one tenancy mechanism of the back office.

Every ModelAdmin and inline of the project derives from
:class:`MerchantScopedAdmin` (or :class:`MerchantScopedInline`), which narrows
every queryset the admin touches — the changelist, the object URLs, foreign-key
and many-to-many choices, autocomplete answers and related list filters — to
the logged-in user's merchant with ``TenantQuerySet.for_merchant``. Managers
are narrowed further to the stores of their membership. A platform
administrator (a superuser without a membership) sees everything.

An object of another merchant is a 404, never a 403: the admin's usual
"redirect with a warning" for a missing object is turned into ``Http404``.
"""

from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import Http404, HttpResponseRedirect

from loyalty.domain.actors import Actor, Channel
from loyalty.exceptions import LoyaltyError
from loyalty.models import Merchant
from loyalty.selectors.alerts import alerts_visible_to
from loyalty.selectors.cards import cards_manageable_by
from loyalty.services.audit import audit_record, changes_between
from loyalty_site.http import client_ip

OWNER = "owner"
MANAGER = "manager"
BACK_OFFICE_ROLES = (OWNER, MANAGER)

# For managers, the path from a model to the store that decides whether it is
# "theirs". Models not listed here are not narrowed by store (their permissions
# decide whether a manager sees them at all).
MANAGER_STORE_LOOKUPS = {
    "loyalty.store": "pk",
    "loyalty.loyaltytransaction": "store",
    "staff.staffpin": "store",
}
# Models whose "theirs" is a domain rule that the store API applies too, so a
# manager's token and the back office never disagree about a card.
MANAGER_RULES = {
    "loyalty.loyaltycard": cards_manageable_by,
    "loyalty.alert": alerts_visible_to,
}


@dataclass(frozen=True)
class BackOfficeUser:
    """Who is using the back office: a merchant's owner or manager, or a platform administrator."""

    user: object
    membership: object | None
    store_ids: frozenset = field(default_factory=frozenset)

    @property
    def is_platform_admin(self) -> bool:
        return bool(self.user.is_superuser) and self.membership is None

    @property
    def merchant(self) -> Merchant | None:
        return self.membership.merchant if self.membership is not None else None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership is not None else None

    @property
    def is_owner(self) -> bool:
        return self.is_platform_admin or self.role == OWNER

    @property
    def may_use_back_office(self) -> bool:
        """The admin login rule: staff accounts (role "staff") never enter, whatever ``is_staff`` says."""
        if not (self.user.is_active and self.user.is_staff):
            return False
        if self.membership is None:
            return bool(self.user.is_superuser)
        return (
            self.membership.is_active
            and self.membership.merchant.is_active  # a deactivated merchant's people are out too
            and self.membership.role in BACK_OFFICE_ROLES
        )


def back_office_user_for(user) -> BackOfficeUser:
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    store_ids = frozenset()
    if membership is not None:
        membership = type(membership).objects.select_related("merchant").get(pk=membership.pk)
        store_ids = frozenset(membership.stores.values_list("pk", flat=True))
    return BackOfficeUser(user=user, membership=membership, store_ids=store_ids)


def back_office_user(request) -> BackOfficeUser:
    """Resolved once per request."""
    cached = getattr(request, "_back_office_user", None)
    if cached is None or cached.user.pk != request.user.pk:
        cached = back_office_user_for(request.user)
        request._back_office_user = cached
    return cached


def scope_queryset(queryset, request, *, narrow_to_manager_stores: bool = True):
    """``queryset`` narrowed to what the logged-in user may see.

    A model that does not belong to a merchant (no ``MERCHANT_LOOKUP``) is
    nothing at all for a merchant user: users, groups, Celery schedules stay
    with the platform administrators.
    """
    who = back_office_user(request)
    if who.is_platform_admin:
        return queryset
    model = queryset.model
    if who.merchant is None or not hasattr(model, "MERCHANT_LOOKUP"):
        return queryset.none()
    queryset = queryset.for_merchant(who.merchant)
    if not (narrow_to_manager_stores and who.role == MANAGER):
        return queryset
    label = model._meta.label_lower
    if label in MANAGER_RULES:
        return MANAGER_RULES[label](queryset, user=who.user, role=who.role)
    if label in MANAGER_STORE_LOOKUPS:
        return queryset.filter(**{f"{MANAGER_STORE_LOOKUPS[label]}__in": who.store_ids})
    return queryset


def admin_actor(request, *, merchant: Merchant | None = None, store=None) -> Actor:
    """The domain's Actor for the logged-in user: channel "admin", role from the membership.

    A platform administrator acts with ``role=None`` (which ``Actor.is_owner``
    treats as an owner for superusers) on the merchant of the object at hand.
    """
    who = back_office_user(request)
    return Actor(
        merchant=merchant if who.is_platform_admin else who.merchant,
        store=store,
        user=request.user,
        role=who.role,
        channel=Channel.ADMIN,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def merchant_of(obj) -> Merchant | None:
    """Follow the model's ``MERCHANT_LOOKUP`` from an instance to its merchant."""
    lookup = getattr(type(obj), "MERCHANT_LOOKUP", None)
    if lookup is None:
        return None
    if lookup == "pk":
        return obj
    current = obj
    for part in lookup.split("__"):
        current = getattr(current, part, None)
        if current is None:
            return None
    return current


def audit(request, *, action: str, obj=None, summary: str = "", changes: dict | None = None, merchant=None, **fields):
    """Record a back-office action in the admin audit log (secrets appear as ``***``)."""
    if merchant is None and obj is not None:
        merchant = merchant_of(obj)
    return audit_record(
        actor=request.user,
        action=action,
        obj=obj,
        merchant=merchant,
        summary=summary,
        changes=changes,
        ip_address=client_ip(request),
        **fields,
    )


def field_values(obj, names) -> dict:
    """Current values of ``names`` on ``obj`` (foreign keys as ids, many-to-many as sorted id lists)."""
    values = {}
    for name in names:
        model_field = obj._meta.get_field(name)
        if model_field.many_to_many:
            values[name] = sorted(obj.pk and getattr(obj, name).values_list("pk", flat=True) or [])
        elif model_field.is_relation:
            values[name] = getattr(obj, model_field.attname)
        else:
            value = getattr(obj, name)
            values[name] = value.name if isinstance(value, models.fields.files.FieldFile) else value
    return values


def adopt_saved(obj, saved) -> None:
    """Make the admin's unsaved form instance the row a service saved.

    The admin goes on with its own ``obj`` after ``save_model`` (history
    entry, message, redirect), so it must carry the saved row's id and values.
    """
    obj.__dict__.update(saved.__dict__)


def domain_error_text(error: LoyaltyError) -> str:
    """A domain error in plain words: its message, then each detail line."""
    parts = [str(error.message)]
    for name, problems in (error.details or {}).items():
        if isinstance(problems, list | tuple):
            text = " ".join(str(problem) for problem in problems)
        else:
            text = str(problems)
        parts.append(f"{name.replace('_', ' ')}: {text}")
    return " — ".join(parts)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-object filter whose choices are the user's merchant's objects only."""

    def field_choices(self, field, request, model_admin):
        queryset = scope_queryset(field.related_model._default_manager.all(), request)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]


class _ScopingMixin:
    narrow_to_manager_stores = True
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return scope_queryset(
            super().get_queryset(request), request, narrow_to_manager_stores=self.narrow_to_manager_stores
        )

    def _scoped_choices(self, db_field, request, kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_queryset(db_field.related_model._default_manager.all(), request)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(db_field, request, **self._scoped_choices(db_field, request, kwargs))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(db_field, request, **self._scoped_choices(db_field, request, kwargs))

    def has_delete_permission(self, request, obj=None):
        # Nothing in the back office is deleted: programs, stores, PINs and
        # memberships are deactivated, so the ledger's references stay whole.
        return False


class MerchantScopedAdmin(_ScopingMixin, admin.ModelAdmin):
    """Base of every ModelAdmin: scoped querysets, 404 for other merchants, domain errors as messages."""

    # Models with a ``merchant`` foreign key: merchant users never choose it,
    # it is set from their membership on add.
    merchant_field: str | None = None
    audited_fields: tuple = ()
    show_full_result_count = False  # a second COUNT(*) over a large ledger on every page is wasted

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object for your merchant.")
        return obj

    def get_search_results(self, request, queryset, search_term):
        # Autocomplete passes its own queryset here; scope it again so a
        # widget can never offer another merchant's objects.
        queryset = scope_queryset(queryset, request, narrow_to_manager_stores=self.narrow_to_manager_stores)
        return super().get_search_results(request, queryset, search_term)

    def get_list_filter(self, request):
        filters = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and "__" not in entry:
                model_field = self.model._meta.get_field(entry)
                if model_field.is_relation:
                    entry = (entry, ScopedRelatedFieldListFilter)
            filters.append(entry)
        return filters

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self.merchant_field and not back_office_user(request).is_platform_admin:
            exclude.append(self.merchant_field)
        return exclude

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.merchant_field and not back_office_user(request).is_platform_admin:
            fieldsets = [
                (title, {**options, "fields": [name for name in options["fields"] if name != self.merchant_field]})
                for title, options in fieldsets
            ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self.merchant_field and obj is not None and back_office_user(request).is_platform_admin:
            readonly.append(self.merchant_field)  # an object never moves to another merchant
        return readonly

    def save_model(self, request, obj, form, change):
        if self.merchant_field and not change and not back_office_user(request).is_platform_admin:
            setattr(obj, self.merchant_field, back_office_user(request).merchant)
        before = self._audited_before(obj, change)
        saved = self.save_through_service(request, obj, form, change)
        adopt_saved(obj, saved)
        self._audit_save(request, obj, before, change)

    def object_actions_context(self, request, *, applies, return_here: bool = False) -> dict:
        """The list actions that ``applies(name)`` to the object at hand, as buttons on its page.

        For ``change_form_template = "admin/back_office/change_form_with_actions.html"``; with
        ``return_here`` an action sends the user back to the object's page (the action reads ``next``).
        """
        available = self.get_actions(request)
        return {
            "object_actions": [
                (name, available[name][2]) for name in self.actions if name in available and applies(name)
            ],
            "object_actions_return_here": return_here,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }

    def save_through_service(self, request, obj, form, change):
        """Save the form through the model's domain service and return the saved row.

        Every editable model has one (it validates, locks, and tells the
        wallets what changed); Django's plain ``obj.save()`` is never used.
        """
        raise ImproperlyConfigured(f"{type(self).__name__} must save {obj._meta.label} through its service.")

    @staticmethod
    def form_fields(form, names, *, change: bool) -> dict:
        """The cleaned values of the form's fields among ``names``: the changed ones on change, all on add."""
        wanted = [name for name in form.changed_data if name in names] if change else names
        return {name: form.cleaned_data[name] for name in wanted if name in form.cleaned_data}

    def _audited_before(self, obj, change):
        if not self.audited_fields or not change:
            return {}
        return field_values(type(obj)._default_manager.get(pk=obj.pk), self.audited_fields)

    def _audit_save(self, request, obj, before, change):
        if not self.audited_fields:
            return
        after = field_values(obj, self.audited_fields)
        action = "change" if change else "create"
        changes = changes_between(before, after)
        if change and not changes:
            return
        audit(request, action=action, obj=obj, summary=f"{obj._meta.verbose_name} {obj}", changes=changes)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Domain errors raised while saving roll the save back and come back as a message."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except LoyaltyError as error:
            self.message_user(request, domain_error_text(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class MerchantScopedInline(_ScopingMixin):
    """Mixin for inlines (combine with TabularInline/StackedInline)."""


class ReadOnlyAdminMixin:
    """For models nobody changes in the back office, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
