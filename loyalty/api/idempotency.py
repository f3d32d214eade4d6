"""``Idempotency-Key`` on the store API's writes: ``@idempotent`` on a viewset action.

Without the header an action runs as it always did, at no cost. With it:
the key is checked (1 to 255 printable ASCII characters, else a 400 before
anything runs) and claimed for the token's merchant
(``loyalty.services.idempotency``); a key already answered sends that
answer again, status and body, with ``Idempotent-Replayed: true``. Every
final answer is stored, refusals included, so a retried refused stamp gets
the same refusal. Not stored, and the key freed for a retry that runs
again: a 5xx (a database fault, a bug) and a 409 ``CONFLICT`` (a race the
client is told to retry) — unless the operation had already committed, in
which case the key stays taken. Authentication, permission and throttling
answers come before the action, so they never touch a key.

``@idempotent`` goes above ``@action`` (DRF's decorator replaces the
function's schema hook) and documents the header on the operation.
"""

import functools
import json
import logging

from django.db import DatabaseError, connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from loyalty.exceptions import ValidationFailed
from loyalty.services.idempotency import (
    IdempotentReplay,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    idempotency_scope,
    request_fingerprint,
)

logger = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
IDEMPOTENCY_ERRORS = ("IDEMPOTENCY_CONFLICT", "REQUEST_IN_PROGRESS")
# Answers that tell the client to send the request again: the key must let that retry run.
RETRY_CODES = {"CONFLICT", "REQUEST_IN_PROGRESS"}

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    KEY_HEADER,
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": "^[ -~]+$"},
    OpenApiParameter.HEADER,
    description=(
        "Optional. A fresh opaque value per operation (a UUID), sent again with every retry of that operation. "
        "A repeat with the same body gets the first answer again (with `Idempotent-Replayed: true`) and writes "
        "nothing; with another body or endpoint it is a 409 `IDEMPOTENCY_CONFLICT`; while the first is still "
        "running, a 409 `REQUEST_IN_PROGRESS`. Keys are kept at least 24 hours, per merchant."
    ),
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER,
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=True,
    description="Present when this answer is the stored answer to an earlier request with the same Idempotency-Key.",
)


def _key_of(request) -> str | None:
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= KEY_MAX_LENGTH and all(" " <= character <= "~" for character in key)):
        message = _("An Idempotency-Key is 1 to 255 printable ASCII characters.")
        raise ValidationFailed(message, details={KEY_HEADER: [str(message)]})
    return key


def _error_code(response) -> str | None:
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return data["error"].get("code")
    return None


def _release(claim) -> bool:
    try:
        return idempotency_release(claim=claim)
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        # The fault behind the 5xx may have broken this connection (Django drops it only when the
        # request ends): free the key over a new one, or the till's retry would wait for the takeover.
        connection.close()
        return idempotency_release(claim=claim)


def _settle(claim, response) -> None:
    """Store the answer, or free the key when the answer asks for a retry; never turn an answer into an error."""
    try:
        if response is None or response.status_code >= 500 or _error_code(response) in RETRY_CODES:
            if not _release(claim):
                # Committed before the failure (or taken over meanwhile): the key must not run again.
                logger.warning("idempotency.key_kept", extra={"record": claim.record_id})
            return
        body = JSONRenderer().render(response.data).decode()
        idempotency_complete(claim=claim, status_code=response.status_code, body=body)
    except DatabaseError as error:
        # The operation's own answer still goes out; the key stays claimed, and is taken over
        # after a while unless the operation had committed.
        logger.warning("idempotency.not_recorded", extra={"record": claim.record_id, "error": error.__class__.__name__})


def idempotent(action):
    """Make a store API write honour the ``Idempotency-Key`` header (see the module's docstring)."""

    @functools.wraps(action)
    def run(view, request, *args, **kwargs):
        key = _key_of(request)
        if key is None:
            return action(view, request, *args, **kwargs)
        outcome = idempotency_claim(
            merchant=view.actor.merchant,
            key=key,
            endpoint=f"{request.method} {request.path}",
            request_hash=request_fingerprint(method=request.method, path=request.path, body=request.data),
        )
        if isinstance(outcome, IdempotentReplay):
            return Response(json.loads(outcome.body), status=outcome.status_code, headers={REPLAYED_HEADER: "true"})
        response = None
        try:
            with idempotency_scope(outcome):
                try:
                    response = action(view, request, *args, **kwargs)
                except Exception as error:
                    response = view.handle_exception(error)  # the answer the client gets is the one stored
        finally:
            _settle(outcome, response)
        return response

    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER])(run)
