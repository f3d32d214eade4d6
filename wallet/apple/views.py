"""The PassKit web service (Apple's devices are the client) and the pass download.

Plain Django views, not DRF: devices authenticate with ``Authorization:
ApplePass <token>``, which the API's token authentication must never see.
Paths are exactly Apple's (no trailing slash, so never an APPEND_SLASH
redirect), CSRF does not apply (no cookies, a per-pass token instead) and
every 401 is the same answer whether or not the serial exists.
"""

import functools
import hmac
import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt

from loyalty_site.http import client_ip
from loyalty_site.rate_limits import Rate, rate_count
from wallet.apple.builder import pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.selectors import apple_pass_get_by_serial, pass_source_get, serials_updated_since
from wallet.apple.services import device_register, device_unregister

logger = logging.getLogger(__name__)
device_logger = logging.getLogger("wallet.apple.device_log")

PKPASS_CONTENT_TYPE = "application/vnd.apple.pkpass"
MAX_DEVICE_ID_LENGTH = 128
MAX_PUSH_TOKEN_LENGTH = 256
MAX_LOG_BODY_BYTES = 64 * 1024
MAX_LOG_ENTRIES_PER_REQUEST = 20
MAX_LOG_ENTRY_CHARS = 1000
MAX_LOG_ENTRIES_PER_MINUTE = 60
# Compared against when the serial is unknown, so that path costs the same as a wrong token.
_UNKNOWN_PASS_TOKEN = b"0" * 32


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


def _unauthorized() -> JsonResponse:
    return _error(401, "UNAUTHORIZED", "Authentication failed.")


def _not_found() -> JsonResponse:
    return _error(404, "NOT_FOUND", "Not found.")


def _allow(*methods: str):
    """Like ``require_http_methods``, but the 405 is in the web service's JSON error shape."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = _error(405, "METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed here.")
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _is_device_id(value: str) -> bool:
    """Apple sends an opaque printable string; control characters or an overlong id are not from a device."""
    return 0 < len(value) <= MAX_DEVICE_ID_LENGTH and value.isprintable()


def _json_body(request):
    """``(parsed body or None when it is not JSON, None)`` or ``(None, 413 response)``."""
    try:
        raw = request.body
    except RequestDataTooBig:
        return None, _error(413, "REQUEST_TOO_LARGE", "The request body is too large.")
    try:
        return json.loads(raw or b"{}"), None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None


def _request_token(request) -> bytes | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme != "ApplePass" or not token:
        return None
    return token.encode("utf-8")


def _authenticated_pass(request, pass_type_identifier: str, serial_number: str, *, find=apple_pass_get_by_serial):
    """``(what find(serial_number=…) returned, None)`` or ``(None, error response)``: the pass row, or with
    ``find=pass_source_get`` everything the pass is built from, read in the same statement."""
    config = apple_config()
    if config is None:
        return None, _not_found()
    token = _request_token(request)
    if token is None:
        return None, _unauthorized()
    if pass_type_identifier != config.pass_type_identifier:
        return None, _not_found()
    apple_pass = find(serial_number=serial_number)
    if apple_pass is None:
        hmac.compare_digest(token, _UNKNOWN_PASS_TOKEN)
        return None, _not_found()
    if not hmac.compare_digest(token, apple_pass.authentication_token.encode("utf-8")):
        return None, _unauthorized()
    return apple_pass, None


def _pass_response(source, config, *, attachment: bool = False) -> HttpResponse:
    response = HttpResponse(pass_package_build(source=source, config=config), content_type=PKPASS_CONTENT_TYPE)
    response["Last-Modified"] = http_date(source.changed_at.timestamp())
    response["Cache-Control"] = "no-cache"
    if attachment:
        response["Content-Disposition"] = 'attachment; filename="loyalty-card.pkpass"'
    return response


def _not_modified_since(request, apple_pass) -> bool:
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    # changed_at holds whole seconds and grows by at least one per change, so
    # "not older than the last change" never hides a change.
    return since is not None and since >= int(apple_pass.changed_at.timestamp())


@csrf_exempt
@_allow("POST", "DELETE")
def device_registration(request, device_library_identifier, pass_type_identifier, serial_number):
    """Register (POST) or unregister (DELETE) a device for a pass's update pushes."""
    apple_pass, error = _authenticated_pass(request, pass_type_identifier, serial_number)
    if error is not None:
        return error
    if not _is_device_id(device_library_identifier):
        return _error(400, "VALIDATION_ERROR", "deviceLibraryIdentifier is too long or not printable.")
    if request.method == "DELETE":
        device_unregister(apple_pass=apple_pass, device_library_identifier=device_library_identifier)
        return JsonResponse({}, status=200)
    body, error = _json_body(request)
    if error is not None:
        return error
    push_token = body.get("pushToken") if isinstance(body, dict) else None
    if not isinstance(push_token, str) or not push_token.strip() or len(push_token) > MAX_PUSH_TOKEN_LENGTH:
        return _error(400, "VALIDATION_ERROR", "The body must be JSON with a pushToken.")
    result = device_register(
        apple_pass=apple_pass, device_library_identifier=device_library_identifier, push_token=push_token.strip()
    )
    return JsonResponse({}, status=201 if result.created else 200)


@_allow("GET")
def updated_serials(request, device_library_identifier, pass_type_identifier):
    """The serials of the device's passes changed after ``passesUpdatedSince`` (all of them without it)."""
    config = apple_config()
    if config is None or pass_type_identifier != config.pass_type_identifier:
        return _not_found()
    if not _is_device_id(device_library_identifier):
        return HttpResponse(status=204)  # never registered: no passes
    since = request.GET.get("passesUpdatedSince", "").strip()
    # A tag we did not issue cannot be ordered against ours: answer everything. (ASCII digits only:
    # str.isdigit() is also true of "²" and "١٢٣", which int() refuses or reads as another number.)
    since_tag = int(since) if since.isascii() and since.isdigit() and len(since) < 19 else None
    result = serials_updated_since(device_library_identifier=device_library_identifier, since_tag=since_tag)
    if result is None:
        return HttpResponse(status=204)
    return JsonResponse({"serialNumbers": result.serial_numbers, "lastUpdated": result.last_updated})


@_allow("GET")
def latest_pass(request, pass_type_identifier, serial_number):
    apple_pass, error = _authenticated_pass(request, pass_type_identifier, serial_number, find=pass_source_get)
    if error is not None:
        return error
    if _not_modified_since(request, apple_pass):
        response = HttpResponse(status=304)
        response["Last-Modified"] = http_date(apple_pass.changed_at.timestamp())
        return response
    return _pass_response(apple_pass, apple_config())


@csrf_exempt
@_allow("POST")
def device_log(request):
    """Devices report what is wrong with our passes here; log it, within bounds."""
    if apple_config() is None:
        return _not_found()
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_LOG_BODY_BYTES:
        return _error(413, "REQUEST_TOO_LARGE", "The log body is too large.")
    body, error = _json_body(request)
    if error is not None:
        return error
    entries = body.get("logs") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return _error(400, "VALIDATION_ERROR", "The body must be JSON with a logs array.")
    entries = [str(entry)[:MAX_LOG_ENTRY_CHARS] for entry in entries[:MAX_LOG_ENTRIES_PER_REQUEST]]
    counted = rate_count(
        scope="wallet-apple-log",
        subject=client_ip(request) or "unknown",
        rate=Rate(limit=MAX_LOG_ENTRIES_PER_MINUTE, period_seconds=60),
        amount=len(entries),
    )
    allowed = counted.accepted(len(entries))
    for entry in entries[:allowed]:
        device_logger.warning("apple.device_log", extra={"device_message": entry})
    if allowed < len(entries):
        logger.info("apple.device_log_dropped", extra={"dropped": len(entries) - allowed})
    return JsonResponse({}, status=200)


@_allow("GET")
def pass_download(request, serial_number):
    """``GET /api/v1/loyalty/passes/apple/{serial}.pkpass``: the serial is the secret of this URL."""
    config = apple_config()
    if config is None:
        return _not_found()
    source = pass_source_get(serial_number=serial_number)
    if source is None:
        return _not_found()
    return _pass_response(source, config, attachment=True)
