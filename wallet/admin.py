"""Wallet passes in the back office: read-only, for platform administrators (support).

The pass's authentication token is a secret the device presents: never shown.
"""

from django.contrib import admin

from loyalty.admin.scoping import MerchantScopedAdmin, ReadOnlyAdminMixin
from wallet.models import ApplePass, GoogleWalletObject


@admin.register(ApplePass)
class ApplePassAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ("serial_number", "card", "change_tag", "changed_at", "created_at")
    search_fields = ("=serial_number", "=card__card_number")
    fields = ("serial_number", "card", "change_tag", "changed_at", "created_at")
    readonly_fields = fields
    list_select_related = ("card",)


@admin.register(GoogleWalletObject)
class GoogleWalletObjectAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ("object_id", "card", "synced_at")
    search_fields = ("=object_id", "=card__card_number")
    fields = ("object_id", "card", "synced_at")
    readonly_fields = fields
    list_select_related = ("card",)
