"""The error shape in the OpenAPI document: one component, an example per code.

``error_responses("CARD_NOT_FOUND", "STAMP_COOLDOWN", ...)`` gives the
``responses`` entries of ``extend_schema`` for those codes, grouped by status,
each with an example built from the domain error's own message, so the
document cannot drift from what the handler sends.
"""

from collections import defaultdict

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers

from loyalty import exceptions as domain

_GENERIC = {
    "VALIDATION_ERROR": (400, "The request is not valid.", {"purchase_amount_cents": ["This field is required."]}),
    "NOT_AUTHENTICATED": (401, "Authentication credentials were not provided.", {}),
    "PERMISSION_DENIED": (403, "Your role does not allow this operation.", {}),
    "NOT_FOUND": (404, "Not found.", {}),
    "THROTTLED": (429, "Request was throttled. Expected available in 42 seconds.", {"retry_after_seconds": 42}),
    "CONFLICT": (409, "The request conflicts with the current state; retry.", {}),
}

_EXAMPLE_DETAILS = {
    "ALREADY_ENROLLED": {"card_id": 42},
    "STAMP_COOLDOWN": {"next_stamp_available_at": "2026-03-14T09:30:00+01:00", "retry_after_seconds": 540},
    "DAILY_STAMP_LIMIT": {"stamps_today": 5, "max_daily_stamps": 5},
    "INSUFFICIENT_STAMPS": {"stamp_count": 7, "stamps_target": 10},
    "INSUFFICIENT_POINTS": {"points_balance": 80, "points_required": 100},
    "STAFF_PIN_INVALID": {"attempts_left": 3},
    "STAFF_PIN_LOCKED": {"locked_until": "2026-03-14T10:00:00+01:00"},
    "PROGRAM_TYPE_MISMATCH": {"loyalty_type": "stamps", "needs": "points"},
    "BELOW_MINIMUM_PURCHASE": {"minimum_purchase_cents": 500},
    "IDEMPOTENCY_CONFLICT": {"order_reference": "POS-2026-000123"},
    "REQUEST_IN_PROGRESS": {"retry_after_seconds": 1},
    "ALREADY_VOIDED": {"original_transaction_id": 1234},
}


def _domain_errors() -> dict:
    found = {}
    stack = [domain.LoyaltyError]
    while stack:
        klass = stack.pop()
        stack.extend(klass.__subclasses__())
        if klass.code not in found and klass.code not in ("LOYALTY_ERROR", "NOT_FOUND"):
            found[klass.code] = (klass.status, str(klass.message), _EXAMPLE_DETAILS.get(klass.code, {}))
    return found


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. STAMP_COOLDOWN.")
    message = serializers.CharField(help_text="Human text (in the request's language).")
    details = serializers.DictField(help_text="Machine-readable context; field errors for VALIDATION_ERROR.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_catalog() -> dict:
    return {**_domain_errors(), **_GENERIC}


def error_responses(*codes: str, authenticated: bool = True) -> dict:
    """``{status: OpenApiResponse(ErrorSerializer, examples)}`` for ``codes`` (plus the usual ones)."""
    catalog = error_catalog()
    wanted = ["VALIDATION_ERROR", "THROTTLED", *codes]
    if authenticated:
        wanted += ["NOT_AUTHENTICATED", "PERMISSION_DENIED"]
    by_status = defaultdict(list)
    for code in dict.fromkeys(wanted):
        status_code, message, details = catalog[code]
        by_status[status_code].append(
            OpenApiExample(code, value={"error": {"code": code, "message": message, "details": details}})
        )
    return {
        status_code: OpenApiResponse(
            ErrorSerializer, description=", ".join(example.name for example in examples), examples=examples
        )
        for status_code, examples in sorted(by_status.items())
    }


def list_error_responses(*codes: str, authenticated: bool = True) -> dict:
    """``error_responses`` of a paginated list: ``?page=`` past the last page (or 0) is a 404 ``NOT_FOUND``."""
    return error_responses("NOT_FOUND", *codes, authenticated=authenticated)


class SchemaView(SpectacularAPIView):
    """``/api/schema``: the OpenAPI document, YAML unless ``?format=json``, shown by a browser rather than downloaded.

    A browser (its ``Accept`` names ``text/html``) downloads
    ``application/vnd.oai.openapi``; it gets the same document as
    ``text/plain`` (YAML) or ``application/json``, which it displays. Other
    clients (curl's ``*/*``, code generators) get the OpenAPI media types.
    """

    BROWSER_CONTENT_TYPES = {"yaml": "text/plain; charset=utf-8", "json": "application/json"}

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is not None and "text/html" in request.META.get("HTTP_ACCEPT", ""):
            response.content_type = self.BROWSER_CONTENT_TYPES.get(renderer.format, response.content_type)
        return response
