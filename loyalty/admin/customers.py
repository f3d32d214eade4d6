"""Customers: search, consent with its time, and the two GDPR requests (export, erase)."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import LoyaltyError
from loyalty.models import Customer
from loyalty.services.customers import customer_erase, customer_export
from loyalty.services.tenancy import CUSTOMER_FIELDS, customer_update

from .scoping import MerchantScopedAdmin, admin_actor, audit, back_office_user, domain_error_text, merchant_of


@admin.register(Customer)
class CustomerAdmin(MerchantScopedAdmin):
    list_display = (
        "__str__",
        "email",
        "merchant",
        "card_total",
        "marketing_consent",
        "marketing_consent_at",
        "created_at",
        "erased_at",
    )
    list_filter = ("marketing_consent", ("erased_at", admin.EmptyFieldListFilter), "merchant")
    search_fields = ("email", "full_name", "phone", "cards__card_number")
    fields = (
        "merchant",
        "email",
        "full_name",
        "phone",
        "preferred_language",
        "birthday_day",
        "birthday_month",
        "marketing_consent",
        "marketing_consent_at",
        "terms_accepted_at",
        "created_at",
        "erased_at",
    )
    readonly_fields = (
        "merchant",
        "email",
        "marketing_consent",
        "marketing_consent_at",
        "terms_accepted_at",
        "created_at",
        "erased_at",
    )
    audited_fields = CUSTOMER_FIELDS
    change_form_template = "admin/back_office/customer_change_form.html"
    ordering = ("-created_at", "-id")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(card_count=Count("cards"))

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if not back_office_user(request).is_platform_admin:
            filters = [entry for entry in filters if not (isinstance(entry, tuple) and entry[0] == "merchant")]
        return filters

    @admin.display(description=_("cards"), ordering="card_count")
    def card_total(self, obj):
        return obj.card_count

    def save_through_service(self, request, obj, form, change):
        actor = admin_actor(request, merchant=obj.merchant)
        return customer_update(actor=actor, customer_id=obj.pk, **self.form_fields(form, CUSTOMER_FIELDS, change=change))

    def has_add_permission(self, request):
        return False  # customers come through enrollment (join page, till, import)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/export/", wrap(self.export_view), name="loyalty_customer_export"),
            path("<path:object_id>/erase/", wrap(self.erase_view), name="loyalty_customer_erase"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            customer = self.get_object(request, object_id)
            audit(request, action="view", obj=customer, summary=f"customer #{customer.pk}")
        return super().change_view(request, object_id, form_url, extra_context)

    def export_view(self, request, object_id):
        customer = self.get_object(request, object_id)
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        data = customer_export(merchant=merchant_of(customer), customer_id=customer.pk)
        audit(request, action="export", obj=customer, summary=f"GDPR export of customer #{customer.pk}")
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    def erase_view(self, request, object_id):
        customer = self.get_object(request, object_id)
        if not (self.has_change_permission(request, customer) and back_office_user(request).is_owner):
            raise PermissionDenied
        change_url = reverse("admin:loyalty_customer_change", args=[customer.pk])
        if request.method == "POST":
            try:
                result = customer_erase(
                    actor=admin_actor(request, merchant=merchant_of(customer)), customer_id=customer.pk
                )
            except LoyaltyError as error:
                self.message_user(request, domain_error_text(error), messages.ERROR)
                return HttpResponseRedirect(change_url)
            if not result.already_erased:
                audit(
                    request,
                    action="action",
                    obj=customer,
                    summary=f"erased personal data of customer #{customer.pk}",
                    changes={"erased_at": [None, result.customer.erased_at.isoformat()]},
                )
            self.message_user(
                request,
                _(
                    "The customer's personal data is erased; %(cards)d card(s) deactivated. "
                    "Balances and history are kept."
                )
                % {"cards": result.cards_deactivated},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase this customer's personal data?"),
            "opts": self.model._meta,
            "object": customer,
            "card_count": customer.cards.count(),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/back_office/customer_erase.html", context)
