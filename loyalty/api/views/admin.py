"""Platform-admin API: ``/api/v1/admin/loyalty/`` (a superuser's token without a store).

Administrators see every merchant, so every read of a merchant's data leaves
a row in the admin audit log (who, what, when, from where) — one per merchant
whose data the answer shows.
"""

from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers as drf_serializers
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from loyalty.api import examples as ex
from loyalty.api import serializers as s
from loyalty.api.context import admin_audit_context
from loyalty.api.permissions import IsPlatformAdmin
from loyalty.api.views.base import validated
from loyalty.exceptions import NotFound, ProgramNotFound
from loyalty.models import AdminAuditLog, Merchant, Program
from loyalty.selectors.stats import merchant_stats, platform_stats, program_stats
from loyalty.services.audit import audit_record
from loyalty_site.api import fields as request_fields
from loyalty_site.api.schema import error_responses, list_error_responses

ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


class MerchantNotFound(NotFound):
    code = "MERCHANT_NOT_FOUND"
    message = _("No merchant with this id.")


class ProgramListQuery(drf_serializers.Serializer):
    merchant = request_fields.IntegerField(min_value=1, max_value=s.MAX_ID, required=False)
    is_active = drf_serializers.BooleanField(required=False, allow_null=True, default=None)


@extend_schema(tags=["admin"])
class AdminViewSet(viewsets.GenericViewSet):
    permission_classes = [IsPlatformAdmin]
    lookup_value_regex = r"[0-9]{1,18}"

    def audit_view(self, *, merchant, object_type: str, object_id="", summary: str) -> None:
        audit_record(
            action=AdminAuditLog.Action.VIEW,
            merchant=merchant,
            object_type=object_type,
            object_id=str(object_id),
            summary=summary,
            **admin_audit_context(self.request),
        )


@extend_schema_view(
    list=extend_schema(
        summary="All programs (filter by merchant id and active)",
        parameters=[ProgramListQuery],
        responses={200: s.AdminProgramSerializer(many=True), **list_error_responses()},
        examples=[ex.response({"merchant": {"id": 1, "name": "Demo Café", "slug": "demo-cafe"}, **ex.PROGRAM})],
    ),
    retrieve=extend_schema(
        summary="A program",
        parameters=[ID],
        responses={200: s.AdminProgramSerializer, **error_responses("PROGRAM_NOT_FOUND")},
        examples=[ex.response({"merchant": {"id": 1, "name": "Demo Café", "slug": "demo-cafe"}, **ex.PROGRAM})],
    ),
    stats=extend_schema(
        summary="A program's statistics",
        parameters=[ID],
        responses={200: s.ProgramStatsSerializer, **error_responses("PROGRAM_NOT_FOUND")},
        examples=[ex.response(ex.PROGRAM_STATS)],
    ),
)
class AdminProgramViewSet(AdminViewSet):
    queryset = Program.objects.none()

    def _programs(self):
        return Program.objects.select_related("merchant").prefetch_related("rewards").order_by("merchant__name", "pk")

    def _get(self, pk) -> Program:
        program = self._programs().filter(pk=pk).first()
        if program is None:
            raise ProgramNotFound()
        return program

    def list(self, request):
        query = validated(ProgramListQuery, request.query_params)
        programs = self._programs()
        if query.get("merchant") is not None:
            programs = programs.filter(merchant_id=query["merchant"])
        if query.get("is_active") is not None:
            programs = programs.filter(is_active=query["is_active"])
        page = self.paginate_queryset(programs)
        for program in page:
            self.audit_view(
                merchant=program.merchant, object_type="loyalty.Program", object_id=program.pk, summary="API: listed"
            )
        return self.get_paginated_response(s.AdminProgramSerializer(page, many=True).data)

    def retrieve(self, request, pk):
        program = self._get(pk)
        self.audit_view(
            merchant=program.merchant, object_type="loyalty.Program", object_id=program.pk, summary="API: viewed"
        )
        return Response(s.AdminProgramSerializer(program).data)

    @action(detail=True, methods=["get"])
    def stats(self, request, pk):
        program = self._get(pk)
        self.audit_view(
            merchant=program.merchant, object_type="loyalty.Program", object_id=program.pk, summary="API: statistics"
        )
        return Response(program_stats(program=program))


@extend_schema_view(
    list=extend_schema(
        summary="All merchants",
        responses={200: s.MerchantSerializer(many=True), **list_error_responses()},
        examples=[ex.response(ex.MERCHANT)],
    ),
    stats=extend_schema(
        summary="A merchant's statistics",
        parameters=[ID],
        responses={200: s.MerchantStatsSerializer, **error_responses("MERCHANT_NOT_FOUND")},
        examples=[ex.response(ex.MERCHANT_STATS)],
    ),
)
class AdminMerchantViewSet(AdminViewSet):
    queryset = Merchant.objects.none()

    def list(self, request):
        merchants = Merchant.objects.annotate(
            stores_total=Count("stores", distinct=True),
            has_program=Exists(Program.objects.filter(merchant=OuterRef("pk"))),
        ).order_by("name", "pk")
        page = self.paginate_queryset(merchants)
        for merchant in page:
            self.audit_view(
                merchant=merchant, object_type="loyalty.Merchant", object_id=merchant.pk, summary="API: listed"
            )
        return self.get_paginated_response(s.MerchantSerializer(page, many=True).data)

    @action(detail=True, methods=["get"])
    def stats(self, request, pk):
        merchant = Merchant.objects.filter(pk=pk).first()
        if merchant is None:
            raise MerchantNotFound()
        self.audit_view(
            merchant=merchant, object_type="loyalty.Merchant", object_id=merchant.pk, summary="API: statistics"
        )
        return Response(merchant_stats(merchant=merchant))


class AdminStatsViewSet(AdminViewSet):
    @extend_schema(
        summary="Platform-wide statistics",
        responses={200: s.PlatformStatsSerializer, **error_responses()},
        examples=[ex.response(ex.PLATFORM_STATS)],
    )
    def platform(self, request):
        self.audit_view(merchant=None, object_type="platform", summary="API: platform statistics")
        return Response(platform_stats())
