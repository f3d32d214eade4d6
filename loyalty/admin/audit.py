"""The admin audit log: who looked at or changed what. Read-only, superusers included."""

from django.contrib import admin

from loyalty.models import AdminAuditLog

from .scoping import MerchantScopedAdmin, ReadOnlyAdminMixin


@admin.register(AdminAuditLog)
class AdminAuditLogAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ("created_at", "actor", "merchant", "action", "object_type", "object_id", "summary")
    list_filter = ("action", "object_type", "merchant")
    search_fields = ("summary", "object_id", "actor__username")
    date_hierarchy = "created_at"
    list_select_related = ("actor", "merchant")
    readonly_fields = (
        "created_at",
        "actor",
        "merchant",
        "action",
        "object_type",
        "object_id",
        "summary",
        "changes",
        "ip_address",
    )
    fields = readonly_fields
