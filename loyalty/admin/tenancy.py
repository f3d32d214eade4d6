"""Merchants (platform administrators) and stores with their join and poster links."""

from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.domain.opening_hours import OpeningRange
from loyalty.models import Merchant, Store, StoreOpeningHours
from loyalty.services.audit import changes_between
from loyalty.services.tenancy import (
    MERCHANT_FIELDS,
    STORE_FIELDS,
    merchant_create,
    merchant_update,
    opening_range_text,
    store_create,
    store_opening_hours_replace,
    store_update,
)

from .scoping import MerchantScopedAdmin, MerchantScopedInline, admin_actor, audit, back_office_user


def store_links(store: Store) -> dict:
    """Absolute join and poster URLs of a store, in the default language (no prefix)."""
    with translation.override(settings.LANGUAGE_CODE):
        join = reverse("loyalty:join", kwargs={"store_code": store.code})
        poster = reverse("loyalty:poster", kwargs={"store_code": store.code})
    return {"join": settings.SITE_URL + join, "poster": settings.SITE_URL + poster}


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin):
    list_display = ("name", "slug", "contact_email", "store_count", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "slug", "contact_email")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "contact_email", "website", "is_active")
    audited_fields = ("name", "slug", "contact_email", "website", "is_active")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(store_total=Count("stores"))

    def save_through_service(self, request, obj, form, change):
        fields = self.form_fields(form, MERCHANT_FIELDS, change=change)
        if change:
            return merchant_update(user=request.user, merchant_id=obj.pk, **fields)
        return merchant_create(user=request.user, **fields)

    @admin.display(description=_("stores"), ordering="store_total")
    def store_count(self, obj):
        return obj.store_total


class OpeningHoursInline(MerchantScopedInline, admin.TabularInline):
    """A store's opening hours, saved all at once by ``store_opening_hours_replace`` (``StoreAdmin.save_formset``).

    Whoever may change the store may change its hours: the rows have no permissions of their own.
    """

    model = StoreOpeningHours
    fields = ("weekday", "opens", "closes")
    extra = 1
    can_delete = True
    verbose_name_plural = _("opening hours (none: the out-of-hours alert ignores this store)")

    def _may_change_store(self, request, obj=None):
        return request.user.has_perm("loyalty.change_store")

    has_add_permission = has_change_permission = has_delete_permission = _may_change_store

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("loyalty.view_store") or self._may_change_store(request, obj)


@admin.register(Store)
class StoreAdmin(MerchantScopedAdmin):
    merchant_field = "merchant"
    inlines = [OpeningHoursInline]
    list_display = ("name", "code", "merchant", "timezone", "is_active", "join_link", "poster_link")
    list_filter = ("is_active", "merchant")
    search_fields = ("name", "code", "address")
    fields = ("merchant", "name", "code", "address", "timezone", "is_active", "join_link", "poster_link")
    audited_fields = ("name", "code", "address", "timezone", "is_active")

    def save_through_service(self, request, obj, form, change):
        actor = admin_actor(request, merchant=obj.merchant)
        fields = self.form_fields(form, STORE_FIELDS, change=change)
        if change:
            return store_update(actor=actor, store_id=obj.pk, **fields)
        return store_create(actor=actor, **fields)

    def save_formset(self, request, form, formset, change):
        if formset.model is not StoreOpeningHours:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not formset.has_changed():
            return None
        store = form.instance
        before = sorted(
            OpeningRange(*row)
            for row in StoreOpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes")
        )
        ranges = [
            OpeningRange(
                hours_form.cleaned_data["weekday"], hours_form.cleaned_data["opens"], hours_form.cleaned_data["closes"]
            )
            for hours_form in formset.forms
            if hours_form.cleaned_data and not hours_form.cleaned_data.get("DELETE")
        ]
        saved = store_opening_hours_replace(
            actor=admin_actor(request, merchant=store.merchant), store_id=store.pk, ranges=ranges
        )
        changes = changes_between(
            {"opening_hours": "; ".join(opening_range_text(opening) for opening in before)},
            {"opening_hours": "; ".join(opening_range_text(opening) for opening in sorted(ranges))},
        )
        if changes:
            audit(request, action="change", obj=store, summary=f"opening hours of store {store}", changes=changes)
        formset.new_objects = saved
        return None

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "join_link", "poster_link"]
        if obj is not None:
            readonly.append("code")  # printed posters carry it: it never changes
        return readonly

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if not back_office_user(request).is_platform_admin:
            filters = [
                entry
                for entry in filters
                if entry != "merchant" and not (isinstance(entry, tuple) and entry[0] == "merchant")
            ]
        return filters

    @admin.display(description=_("join link"))
    def join_link(self, obj):
        if not obj or not obj.pk:
            return "—"
        url = store_links(obj)["join"]
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description=_("poster"))
    def poster_link(self, obj):
        if not obj or not obj.pk:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', store_links(obj)["poster"], _("printable poster")
        )
