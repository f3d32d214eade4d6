"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``.

Domain errors (``LoyaltyError``), DRF's own exceptions, Django's
``ValidationError``/``Http404``/``PermissionDenied`` and database integrity
errors all come out in that shape. Anything else is logged and answered with
a 500 in the same shape (never an HTML page).

A database that cannot answer right now (django.db ``OperationalError`` or
``InterfaceError``: the connection was dropped or the server restarted, a
lock or statement timeout, a deadlock the database broke) is not a bug in the
request: it is a 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``, logged as a
warning (no traceback), so a scanner app knows to retry rather than report a
bug. An operation whose transaction the fault interrupted wrote nothing (the
transaction dies with the connection), and a retry is safe anyway
(``order_reference`` makes an earn idempotent, the cooldown guards stamps).
Django drops the broken connection at the end of the request; the next
request opens a new one.

``api_not_found`` and ``api_server_error`` give the same shape to requests
that never reach a DRF view (an unknown /api/ URL, a crash in middleware).
"""

import logging
from datetime import datetime

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.log import log_response
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from loyalty.exceptions import LoyaltyError
from loyalty_site.api.times import api_time

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying after a database fault: long
# enough for a restarted server or a reconnect, short enough for a queue at the till.
DATABASE_RETRY_AFTER_SECONDS = 2

_CODES = {
    exceptions.ParseError: ("VALIDATION_ERROR", 400),
    exceptions.ValidationError: ("VALIDATION_ERROR", 400),
    exceptions.NotAuthenticated: ("NOT_AUTHENTICATED", 401),
    exceptions.AuthenticationFailed: ("NOT_AUTHENTICATED", 401),
    exceptions.PermissionDenied: ("PERMISSION_DENIED", 403),
    exceptions.NotFound: ("NOT_FOUND", 404),
    exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", 405),
    exceptions.NotAcceptable: ("NOT_ACCEPTABLE", 406),
    exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", 415),
    exceptions.Throttled: ("THROTTLED", 429),
}


def error_response(code, message, details=None, status_code=400, headers=None):
    return Response(
        {"error": {"code": code, "message": str(message), "details": details or {}}},
        status=status_code,
        headers=headers,
    )


def _flatten(detail):
    """DRF error detail → plain JSON (lists of strings per field)."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _details(value):
    """A domain error's details as JSON, its times written by the API's one rule (see ``times.py``)."""
    if isinstance(value, dict):
        return {key: _details(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_details(item) for item in value]
    if isinstance(value, datetime):
        return api_time(value)
    return value


def exception_handler(exc, context):
    if isinstance(exc, LoyaltyError):
        return error_response(exc.code, exc.message, _details(exc.details), exc.status)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return error_response("VALIDATION_ERROR", _("The request is not valid."), details, 400)
    if isinstance(exc, Http404):
        return error_response("NOT_FOUND", _("Not found."), None, 404)
    if isinstance(exc, RequestDataTooBig):
        # DRF reads JSON through request.body, where Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE.
        return error_response("REQUEST_TOO_LARGE", _("The request body is too large."), None, 413)
    if isinstance(exc, DataError | OverflowError):
        # A value the database cannot hold (out-of-range number, NUL byte) is the client's error.
        return error_response("VALIDATION_ERROR", _("A value is out of range."), None, 400)
    if isinstance(exc, OperationalError | InterfaceError):
        return _database_unavailable(exc, context)
    if isinstance(exc, IntegrityError):
        logger.warning("api.integrity_error", extra={"view": context.get("view").__class__.__name__})
        return error_response("CONFLICT", _("The request conflicts with the current state; retry."), None, 409)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        code, status_code = "ERROR", exc.status_code
        for klass, (mapped_code, mapped_status) in _CODES.items():
            if isinstance(exc, klass):
                code, status_code = mapped_code, mapped_status
                break
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        details = None
        if getattr(exc, "wait", None) is not None:
            retry_after = int(exc.wait) + (0 if exc.wait == int(exc.wait) else 1)
            headers["Retry-After"] = str(retry_after)
            details = {"retry_after_seconds": retry_after}
        if isinstance(exc, exceptions.ValidationError):
            details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            return error_response(code, _("The request is not valid."), _flatten(details), status_code, headers)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            status_code = status.HTTP_401_UNAUTHORIZED
        return error_response(code, str(exc.detail), details, status_code, headers)
    logger.exception("api.unhandled_error", extra={"view": context.get("view").__class__.__name__})
    return error_response("SERVER_ERROR", _("Something went wrong on our side."), None, 500)


def _database_unavailable(exc, context):
    """503 with Retry-After: the database did not answer, so the client should retry, not report a bug."""
    logger.warning(
        "api.database_unavailable",
        extra={"view": context.get("view").__class__.__name__, "error": exc.__class__.__name__},
    )
    response = error_response(
        "SERVICE_UNAVAILABLE",
        _("The database is briefly unavailable. Please retry."),
        {"retry_after_seconds": DATABASE_RETRY_AFTER_SECONDS},
        503,
        {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )
    request = context.get("request")
    if request is not None:
        # Django logs every 5xx as an error (django.request); this one is an expected, transient fault.
        log_response(
            "%s: %s", response.reason_phrase, request.path, response=response, request=request, level="warning"
        )
    return response


def _error_json(code, message, status_code):
    return JsonResponse({"error": {"code": code, "message": str(message), "details": {}}}, status=status_code)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any /api/ path no route matched, whatever the method: a JSON 404 (never a redirect or HTML)."""
    return _error_json("NOT_FOUND", _("No API endpoint at this path."), 404)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return _error_json("NOT_FOUND", _("Not found."), 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return _error_json("SERVER_ERROR", _("Something went wrong on our side."), 500)
    from django.views.defaults import server_error

    return server_error(request)
