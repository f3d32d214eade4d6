"""The ledger, read-only for everyone (superusers included), with a streamed CSV export."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone

from loyalty.csv_safety import SafeCsvWriter
from loyalty.models import LoyaltyTransaction

from .scoping import MerchantScopedAdmin, ReadOnlyAdminMixin, audit, back_office_user

EXPORT_CHUNK_SIZE = 2000
EXPORT_COLUMNS = (
    ("id", "id"),
    ("created_at", "created_at"),
    ("type", "type"),
    ("merchant", "merchant__slug"),
    ("store", "store__code"),
    ("card_number", "card__card_number"),
    ("staff", "staff_pin__name"),
    ("stamps_delta", "stamps_delta"),
    ("points_delta", "points_delta"),
    ("stamp_balance_after", "stamp_balance_after"),
    ("points_balance_after", "points_balance_after"),
    ("purchase_amount_cents", "purchase_amount_cents"),
    ("order_reference", "order_reference"),
    ("voided_transaction_id", "voided_transaction_id"),
    ("notes", "notes"),
)


class Echo:
    """A file-like object whose write() hands the line back, so the CSV writer can feed a stream."""

    def write(self, value):
        return value


def csv_rows(queryset):
    """CSV lines of the ledger rows, read in chunks: memory stays flat however many rows there are.

    Notes, order references and PIN names come from tills and scanner apps: the
    writer turns a text that a spreadsheet would run as a formula into text.
    """
    writer = SafeCsvWriter(Echo())
    yield writer.writerow([name for name, _lookup in EXPORT_COLUMNS])
    lookups = [lookup for _name, lookup in EXPORT_COLUMNS]
    for values in queryset.values_list(*lookups).iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield writer.writerow(
            [value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else value) for value in values]
        )


@admin.register(LoyaltyTransaction)
class LoyaltyTransactionAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = (
        "created_at",
        "type",
        "card",
        "store",
        "staff_pin",
        "stamps_delta",
        "points_delta",
        "stamp_balance_after",
        "points_balance_after",
        "purchase_amount_cents",
        "order_reference",
    )
    list_select_related = ("card", "store__merchant", "staff_pin__store")
    list_filter = ("type", "store", ("created_at", admin.DateFieldListFilter), "staff_pin")
    search_fields = ("=card__card_number", "=order_reference")
    date_hierarchy = "created_at"
    exclude = ("ip_address", "user_agent")
    change_list_template = "admin/back_office/transaction_change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name not in self.exclude]

    def get_urls(self):
        return [
            path("export.csv", self.admin_site.admin_view(self.export_view), name="loyalty_loyaltytransaction_export"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The changelist's rows — same scope, filters, search and ordering — as a streamed CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:loyalty_loyaltytransaction_changelist") + "?e=1")
        queryset = changelist.get_queryset(request).select_related(None)
        who = back_office_user(request)
        audit(
            request,
            action="export",
            object_type=self.model._meta.label,
            merchant=who.merchant,
            summary=f"transactions CSV export {request.GET.urlencode()}"[:255],
        )
        response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="transactions-{stamp}.csv"'
        return response
