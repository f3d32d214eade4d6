"""Schemathesis against /api/schema: every operation, hundreds of generated requests each, zero 5xx.

Each operation of the OpenAPI document gets ``FUZZ_EXAMPLES`` (default 200)
generated requests — valid ones and deliberately invalid ones (schemathesis's
positive and negative modes) — plus its boundary-value "coverage" cases and
the document's own examples, sent to the WSGI application in-process:

- the store API with an owner's store token (every role check passes, so the
  requests reach the services), the admin API with a platform admin's token,
  the public API and the login anonymously;
- more than half the generated values that name something (card ids, QR
  data, card numbers, reward, PIN and transaction ids, the staff PIN, store
  codes, the order reference) are swapped for real ones of this merchant or
  of a neighbour, so requests get past the 404s into the rules;
- each request runs in a savepoint rolled back afterwards, so a revoked token,
  a deleted PIN or a deactivated program never leaks into the next example;
- schemathesis's negative cases include requests without the Authorization
  header: those must be a 401 in the error shape like any other refusal.

Every answer must be: not a 5xx; for 4xx, the one error shape
``{"error": {"code", "message", "details"}}``; and for documented statuses,
a body that conforms to the document (schemathesis's response checks).
Hypothesis runs derandomized and without an example database, so CI replays
the same requests every time.

Cost: about 9,500 requests and 200 s on 2 cores (PostgreSQL and SQLite alike)
at the default of 200 per operation (the floor agreed for the suite;
300 takes about 1.5 times as long). ``FUZZ_EXAMPLES=1000`` for a deeper run.
"""

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty_site.wsgi import application
from tests.reliability.hostile_support import (
    ORDER_REFERENCE,
    PASSWORD,
    STAFF_PIN,
    assert_error_shape,
    generous_throttles,  # noqa: F401 (fixture)
    in_process_wsgi,  # noqa: F401 (fixture)
    rolled_back,
    world,  # noqa: F401 (fixture)
)

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))

# Generation must not depend on earlier answers (schemathesis's response pool and 4xx feedback), or a
# replayed example would draw differently: Hypothesis calls that flaky, and CI could not reproduce a failure.
CONFIG = schemathesis.Config.from_dict(
    {"phases": {"fuzzing": {"extra-data-sources": {"responses": False}, "error-feedback": {"enabled": False}}}}
)
schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", application, config=CONFIG)

# Requests per (operation, status), printed at the end of the module: how deep the fuzzing went.
SENT = Counter()


class _Current:
    """The world of the running test, for the steering hook (strategies are built before fixtures run)."""

    world = None


# --- Steering generated values towards real ones ---------------------------------------------------------


def _body_properties(operation) -> set[str]:
    body = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    reference = body.get("schema", {}).get("$ref", "")
    component = schema.raw_schema["components"]["schemas"].get(reference.rsplit("/", 1)[-1], {})
    return set(component.get("properties", {}))


def _path_choices(path: str, name: str, world) -> list:
    if name == "store_code":
        return [world.store_code, world.other_store_code]
    if name == "public_token":
        return world.public_tokens
    if "/cards/" in path:
        return world.all_card_ids
    if "/pins/" in path:
        return world.pin_ids
    if "/merchants/" in path:
        return [world.merchant_id, world.other_merchant_id]
    if "/programs/" in path:
        return [world.program_id]
    return []


def _query_choices(name: str, world) -> list:
    return {
        "q": [*world.card_numbers, *world.qr_codes, *world.emails],
        "search": [*world.emails, world.card_numbers[0][:6]],
        "store": [world.store_code, world.other_store_code],
        "merchant": [world.merchant_id, world.other_merchant_id],
    }.get(name, [])


def _body_choices(properties: set[str], world) -> dict[str, list]:
    """Per body field, the real values it may be swapped for (or ``REMOVE``: leave the field out)."""
    candidates = {
        "reward_id": world.reward_ids,
        "original_transaction_id": world.transaction_ids,
        "staff_pin": [STAFF_PIN, STAFF_PIN, STAFF_PIN, "0000"],
        "staff_pin_id": [REMOVE, REMOVE, *world.pin_ids],
        "order_reference": [ORDER_REFERENCE],
        "username": [world.staff_username],
        "password": [PASSWORD],
        "store_code": [world.store_code, world.other_store_code],
        "email": world.emails,
    }
    return {name: values for name, values in candidates.items() if name in properties}


def _card_refs(world) -> list[dict]:
    return [
        *({"card_id": card_id} for card_id in world.card_ids * 2),  # active cards of this merchant, mostly
        {"card_id": world.inactive_card_id},
        {"card_id": world.other_card_id},
        {"qr_code": world.qr_codes[0]},
        {"card_number": world.card_numbers[0]},
        {"card_number": world.card_numbers[-1]},
    ]


# One fixed-shape draw per case, whatever the case holds: Hypothesis replays choices by position,
# so the steering strategy must not change shape with the generated case.
SLOTS = 12
STEERING = st.tuples(*[st.integers(min_value=0, max_value=63)] * SLOTS)
KEEP_BELOW = 24  # choices 0-23 keep the generated value (3 in 8), 24-63 take a real one
REMOVE = "<remove the field>"


def _pick(choice: int, values: list):
    """None (keep the generated value) or one of the real values."""
    return values[(choice - KEEP_BELOW) % len(values)] if values and choice >= KEEP_BELOW else None


def _steer(case, world, choices) -> None:
    """Swap values in copies of the generated dicts: those may be shared (the document's examples),
    and changing one in place would change what later examples draw."""
    choices = iter(choices)
    operation = case.operation
    case.path_parameters = dict(case.path_parameters or {})
    case.query = dict(case.query or {})
    if isinstance(case.body, dict):
        case.body = dict(case.body)
    for name in sorted(case.path_parameters or {}):
        value = _pick(next(choices), _path_choices(operation.path, name, world))
        if value is not None:
            case.path_parameters[name] = value
    for name in sorted(case.query or {})[:3]:
        value = _pick(next(choices), _query_choices(name, world))
        if value is not None:
            case.query[name] = value
    if not isinstance(case.body, dict):
        return
    properties = _body_properties(operation)
    if {"card_id", "qr_code"} <= properties:
        reference = _pick(next(choices), _card_refs(world))
        if reference is not None:
            for name in ("card_id", "qr_code", "card_number"):
                case.body.pop(name, None)
            case.body.update(reference)
    for name, values in list(_body_choices(properties, world).items())[:6]:
        value = _pick(next(choices), values)
        if value is REMOVE:
            case.body.pop(name, None)
        elif value is not None:
            case.body[name] = value


@schema.hook("flatmap_case")
def steer_towards_real_ids(context, case):
    """Swap generated names for real ones, more often than not, so requests reach the rules."""
    world = _Current.world
    if world is None:
        return st.just(case)

    def steer(choices):
        _steer(case, world, choices)
        return case

    return STEERING.map(steer)


# --- Checks ---------------------------------------------------------------------------------------------------


def standard_error_shape(ctx, response, case) -> None:
    """Every 4xx (and, were there one, 5xx) body is ``{"error": {"code", "message", "details"}}``."""
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        assert_error_shape(response.status_code, content_type, response.content)


CHECKS = [
    not_a_server_error,
    standard_error_shape,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _headers_for(case, world) -> dict:
    path, method = case.operation.path, case.operation.method.upper()
    if path.startswith("/api/v1/store/") or (path == "/api/v1/auth/token" and method == "DELETE"):
        return {"Authorization": f"Token {world.owner_key}"}
    if path.startswith("/api/v1/admin/"):
        return {"Authorization": f"Token {world.admin_key}"}
    return {}


@pytest.fixture
def steering(world):
    _Current.world = world
    yield world
    _Current.world = None


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    operations = sorted({label for label, _status in SENT})
    print(f"\nhostile schema fuzz: {len(operations)} operations, {sum(SENT.values())} requests")
    for label in operations:
        statuses = {status: count for (name, status), count in sorted(SENT.items()) if name == label}
        print(f"  {sum(statuses.values()):5d}  {label}  {statuses}")


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_without_5xx_in_the_documented_shape(case, steering, in_process_wsgi):  # noqa: F811
    with rolled_back():
        response = case.call(headers=_headers_for(case, steering))
        SENT[case.operation.label, response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
