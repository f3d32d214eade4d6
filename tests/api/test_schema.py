"""The OpenAPI document: valid, complete for the API's table, with examples — and every route in it answers."""

import json
import re

import pytest
from drf_spectacular.validation import validate_schema

from tests.api.conftest import client_for

ISSUE_TABLE = {
    "/api/v1/auth/token": {"post", "delete"},
    "/api/v1/store/loyalty/program": {"get", "post", "patch", "delete"},
    "/api/v1/store/loyalty/stats": {"get"},
    "/api/v1/store/loyalty/stats/merchant": {"get"},
    "/api/v1/store/loyalty/pins": {"get", "post"},
    "/api/v1/store/loyalty/pins/{id}": {"patch", "delete"},
    "/api/v1/store/loyalty/pins/{id}/unlock": {"post"},
    "/api/v1/store/loyalty/cards": {"get"},
    "/api/v1/store/loyalty/cards/{id}": {"get"},
    "/api/v1/store/loyalty/cards/{id}/transactions": {"get"},
    "/api/v1/store/loyalty/cards/lookup": {"get", "post"},
    "/api/v1/store/loyalty/cards/enroll": {"post"},
    "/api/v1/store/loyalty/cards/{id}/deactivate": {"post"},
    "/api/v1/store/loyalty/cards/{id}/reactivate": {"post"},
    "/api/v1/store/loyalty/transactions": {"get"},
    "/api/v1/store/loyalty/stamp": {"post"},
    "/api/v1/store/loyalty/stamp/redeem": {"post"},
    "/api/v1/store/loyalty/stamp/void": {"post"},
    "/api/v1/store/loyalty/points/earn": {"post"},
    "/api/v1/store/loyalty/points/redeem": {"post"},
    "/api/v1/store/loyalty/points/void": {"post"},
    "/api/v1/store/loyalty/cards/{id}/points/adjust": {"post"},
    "/api/v1/admin/loyalty/programs": {"get"},
    "/api/v1/admin/loyalty/programs/{id}": {"get"},
    "/api/v1/admin/loyalty/programs/{id}/stats": {"get"},
    "/api/v1/admin/loyalty/stats": {"get"},
    "/api/v1/admin/loyalty/merchants": {"get"},
    "/api/v1/admin/loyalty/merchants/{id}/stats": {"get"},
    "/api/v1/loyalty/programs/{store_code}": {"get"},
    "/api/v1/loyalty/enroll/{store_code}": {"post"},
}
METHODS = {"get", "post", "put", "patch", "delete"}
# The wallet issues own these prefixes; their routes are walked, their table is theirs.
OTHER_OWNERS = re.compile(r"^/api/v1/loyalty/(apple|passes|google)/")


@pytest.fixture
def schema(anonymous, db):
    response = anonymous.get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_schema_validates_against_the_openapi_3_meta_schema(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_schema_is_exactly_the_issue_table(schema):
    served = {
        path: {method for method in item if method in METHODS}
        for path, item in schema["paths"].items()
        if not OTHER_OWNERS.match(path)
    }
    assert served == ISSUE_TABLE


def test_every_operation_has_examples_and_the_error_shape(schema):
    error_ref = "#/components/schemas/Error"
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"error"}
    for path, method, operation in _operations(schema):
        if OTHER_OWNERS.match(path):
            continue
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2") and code != "204"]
        for code in success:
            assert responses[code]["content"]["application/json"].get("examples"), (path, method, code)
        errors = [code for code in responses if code[0] in "45"]
        assert "400" in errors and "429" in errors, (path, method)
        for code in errors:
            content = responses[code]["content"]["application/json"]
            assert content["schema"]["$ref"] == error_ref and content["examples"], (path, method, code)
        body = operation.get("requestBody")
        if body:
            assert body["content"]["application/json"].get("examples"), (path, method)


@pytest.fixture
def world(merchant, store, program, reward, card, other_store, other_program):
    from tests import factories

    staff_pin = factories.make_pin(store, "2580")
    owner = factories.make_user("owner", merchant)
    admin = factories.make_admin(password="pass-1234-word")
    return {"owner": owner, "admin": admin, "store": store, "card": card, "pin": staff_pin, "program": program}


def test_every_route_in_the_schema_answers_json_without_a_server_error(schema, world):
    """Call each documented operation with its own request example (as a client reading the docs would)."""
    values = {"id": None, "store_code": world["store"].code, "public_token": world["card"].public_token}
    ids_by_prefix = {
        "/api/v1/store/loyalty/pins": world["pin"].pk,
        "/api/v1/store/loyalty/cards": world["card"].pk,
        "/api/v1/admin/loyalty/programs": world["program"].pk,
        "/api/v1/admin/loyalty/merchants": world["program"].merchant_id,
    }
    order = {"get": 0, "post": 1, "patch": 2, "delete": 3}  # deletes last, so the others see live objects
    called = 0
    for path, method, operation in sorted(_operations(schema), key=lambda item: (order.get(item[1], 9), item[0])):
        if path.startswith("/api/v1/admin/"):
            client = client_for(world["admin"])
        elif path.startswith("/api/v1/store/") or (path == "/api/v1/auth/token" and method == "delete"):
            client = client_for(world["owner"], world["store"])
        else:
            from rest_framework.test import APIClient

            client = APIClient()
        url = path
        for prefix, object_id in ids_by_prefix.items():
            if path.startswith(prefix + "/{id}"):
                url = url.replace("{id}", str(object_id))
        for name, value in values.items():
            if value is not None:
                url = url.replace("{%s}" % name, str(value))
        body = None
        request_body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        if request_body.get("examples"):
            body = next(iter(request_body["examples"].values()))["value"]
        response = (
            getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
        )
        called += 1
        content_type = response.get("Content-Type", "")
        assert response.status_code < 500, (method, url, response.content[:300])
        assert not content_type.startswith("text/html"), (method, url, content_type)
        if path in ISSUE_TABLE:
            assert content_type.startswith("application/json") or response.status_code == 204, (method, url)
    assert called >= sum(len(methods) for methods in ISSUE_TABLE.values())


def test_swagger_ui_is_served_without_a_cdn(anonymous, db):
    response = anonymous.get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page and "/api/schema" in page
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_a_browser_is_shown_the_document_rather_than_made_to_download_it(anonymous, db):
    yaml = anonymous.get("/api/schema", HTTP_ACCEPT=BROWSER_ACCEPT)
    json_document = anonymous.get("/api/schema", {"format": "json"}, HTTP_ACCEPT=BROWSER_ACCEPT)

    assert yaml.status_code == 200 and yaml["Content-Type"] == "text/plain; charset=utf-8"
    assert yaml.content.startswith(b"openapi:")
    assert yaml["X-Content-Type-Options"] == "nosniff"  # shown as text, never sniffed into a page
    assert json_document.status_code == 200 and json_document["Content-Type"] == "application/json"
    assert json_document.json()["openapi"].startswith("3.")


def test_curl_and_code_generators_get_the_openapi_media_types_as_before(anonymous, db):
    curl = anonymous.get("/api/schema", HTTP_ACCEPT="*/*")
    generator = anonymous.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert curl["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert curl.content.startswith(b"openapi:")
    assert generator["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert generator.json()["openapi"].startswith("3.")
