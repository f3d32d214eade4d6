"""Content-Security-Policy: every kind of HTML page has it, strict, and its markup needs nothing more.

The browser side (no violation reported, pages still work) is in
``tests/browser/test_content_security_policy.py``.
"""

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from loyalty.models import Program
from loyalty_site.security import ContentSecurityPolicyMiddleware
from tests.admin.conftest import _fast_password_hasher, clients, world  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"
EXECUTABLE_SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}


@pytest.fixture(autouse=True)
def _production_error_pages(settings):
    """DEBUG=false: 404 and 500 are the site's own pages, as in production."""
    settings.DEBUG = False


class InlineCode(HTMLParser):
    """What in a page a CSP can block: inline scripts and styles, style attributes, event handlers."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.script_nonces: list[str | None] = []
        self.style_nonces: list[str | None] = []
        self.style_attributes: list[str] = []
        self.event_handlers: list[str] = []
        self.javascript_urls: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.style_attributes.append(f"<{tag} style={value!r}>")
            elif name.startswith("on"):
                self.event_handlers.append(f"<{tag} {name}=…>")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.javascript_urls.append(f"<{tag} {name}={value!r}>")
        is_executable = (attributes.get("type") or "").lower() in EXECUTABLE_SCRIPT_TYPES
        if tag == "script" and "src" not in attributes and is_executable:
            self.script_nonces.append(attributes.get("nonce"))
        if tag == "style":
            self.style_nonces.append(attributes.get("nonce"))


def policy_of(response) -> dict[str, list[str]]:
    directives = (part.split() for part in response[HEADER].split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def assert_strict_policy(response) -> InlineCode:
    """The header is there and strict, and the page's inline code is all nonce'd."""
    assert response["Content-Type"].startswith("text/html")
    assert HEADER in response, f"no {HEADER} on {response.request['PATH_INFO']}"
    policy = policy_of(response)
    assert "unsafe-inline" not in response[HEADER] and "unsafe-eval" not in response[HEADER]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    nonces = [source for source in policy["script-src"] if source.startswith("'nonce-")]
    assert len(nonces) == 1 and policy["style-src"] == ["'self'", nonces[0]]
    nonce = nonces[0].removeprefix("'nonce-").removesuffix("'")
    page = InlineCode(response.content.decode())
    assert page.script_nonces + page.style_nonces == [nonce] * len(page.script_nonces + page.style_nonces)
    assert page.style_attributes == []
    assert page.event_handlers == [] and page.javascript_urls == []
    return page


# --- Customer pages ------------------------------------------------------------------------------


def test_join_page(client, world):
    response = client.get(reverse("loyalty:join", args=[world.alpha.store.code]))
    assert response.status_code == 200
    page = assert_strict_policy(response)
    assert len(page.style_nonces) == 1  # the program's colours


def test_join_page_with_form_errors_in_french(client, world):
    response = client.post(
        "/fr" + reverse("loyalty:join", args=[world.alpha.store.code]), {"email": "x", "preferred_language": "fr"}
    )
    assert response.status_code == 200 and "has-error" in response.content.decode()
    assert_strict_policy(response)


def test_link_sent_page(client, world):
    data = {
        "email": world.alpha.card.customer.email,
        "full_name": "Someone",
        "preferred_language": "en",
        "accept_terms": "on",
    }
    response = client.post(reverse("loyalty:join", args=[world.alpha.store.code]), data)
    assert response.status_code == 200 and "Check your e-mail" in response.content.decode()
    assert_strict_policy(response)


def test_join_unavailable_page(client, world):
    Program.objects.filter(pk=world.alpha.program.pk).update(is_active=False)
    response = client.get(reverse("loyalty:join", args=[world.alpha.store.code]))
    assert response.status_code == 200 and "Sign-up not available" in response.content.decode()
    assert_strict_policy(response)


def test_card_page(client, world):
    response = client.get(reverse("loyalty:card", args=[world.alpha.card.public_token]))
    assert response.status_code == 200
    assert_strict_policy(response)


def test_poster_page(client, world):
    response = client.get(reverse("loyalty:poster", args=[world.alpha.store.code]))
    assert response.status_code == 200
    assert_strict_policy(response)


def test_the_brand_colours_are_set_in_the_nonced_style_block(client, world):
    Program.objects.filter(pk=world.alpha.program.pk).update(background_color="#5B3A29", text_color="#FFFFFF")
    response = client.get(reverse("loyalty:join", args=[world.alpha.store.code]))
    nonce = policy_of(response)["style-src"][1].removeprefix("'nonce-").removesuffix("'")
    assert f'<style nonce="{nonce}">body {{ --brand: #5B3A29; --on-brand: #FFFFFF; }}</style>' in (
        response.content.decode()
    )


def test_each_response_has_its_own_nonce(client, world):
    url = reverse("loyalty:join", args=[world.alpha.store.code])
    first, second = policy_of(client.get(url))["script-src"], policy_of(client.get(url))["script-src"]
    assert first != second


def test_till_page(client):
    response = client.get(reverse("till:page"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    page = assert_strict_policy(response)
    assert page.script_nonces == []  # its code is in module files; the words are a JSON block


# --- Error pages ---------------------------------------------------------------------------------


def test_404_page(client, clients):
    for path in ("/no-such-page/", "/fr/card/no-such-token/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_strict_policy(response)
    response = clients["superuser"].get("/admin/no-such-page/")
    assert response.status_code == 404
    assert_strict_policy(response)


def test_500_page():
    request = RequestFactory().get("/join/somewhere/")
    response = ContentSecurityPolicyMiddleware(server_error)(request)
    assert response.status_code == 500
    page = assert_strict_policy(response)
    assert page.style_nonces == []  # rendered without the request: its style is a static file


def test_with_debug_django_s_technical_404_page_is_left_alone(client, settings):
    # Its inline styles come from Django's own template engine, which cannot give them a nonce.
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and HEADER not in response


# --- Back office ---------------------------------------------------------------------------------


def test_admin_login_page(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert_strict_policy(response)


@pytest.mark.parametrize("role", ["owner", "superuser"])
def test_admin_dashboard(world, clients, role):
    response = clients[role].get(reverse("admin:index"))
    assert response.status_code == 200 and 'id="bo-dashboard"' in response.content.decode()
    assert_strict_policy(response)


def test_every_admin_changelist(clients):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = clients["superuser"].get(url)
        assert response.status_code == 200, url
        assert_strict_policy(response)


def test_every_admin_add_form(clients):
    tested = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        response = clients["superuser"].get(url)
        if response.status_code == 403:  # read-only in the back office (transactions, audit log, wallet passes)
            continue
        assert response.status_code == 200, url
        assert_strict_policy(response)
        tested += 1
    assert tested >= 5


def test_every_admin_change_form(world, clients):
    tested = 0
    for model, model_admin in admin.site._registry.items():
        instance = model_admin.get_queryset(_request_for(world.superuser)).order_by("pk").first()
        if instance is None:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[instance.pk])
        response = clients["superuser"].get(url)
        assert response.status_code == 200, url
        assert_strict_policy(response)
        tested += 1
    assert tested >= 10


def _request_for(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_program_change_form_with_the_colour_preview(world, clients):
    response = clients["owner"].get(reverse("admin:loyalty_program_change", args=[world.alpha.program.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="bo-card-preview"' in body
    assert_strict_policy(response)


def test_card_change_form_and_its_actions(world, clients):
    card = world.alpha.card
    response = clients["owner"].get(reverse("admin:loyalty_loyaltycard_change", args=[card.pk]))
    assert response.status_code == 200 and "bo-inline-action" in response.content.decode()
    assert_strict_policy(response)
    adjust = clients["owner"].post(
        reverse("admin:loyalty_loyaltycard_changelist"),
        {"action": "adjust_points", "_selected_action": [card.pk], "index": "0"},
    )
    assert adjust.status_code == 200 and "Points to add" in adjust.content.decode()
    assert_strict_policy(adjust)


def test_customer_change_form_and_erase_page(world, clients):
    customer = world.alpha.card.customer
    for url in (
        reverse("admin:loyalty_customer_change", args=[customer.pk]),
        reverse("admin:loyalty_customer_erase", args=[customer.pk]),
    ):
        response = clients["owner"].get(url)
        assert response.status_code == 200, url
        assert_strict_policy(response)


def test_card_import_pages(world, clients):
    client = clients["owner"]
    upload_page = client.get(reverse("admin:loyalty_loyaltycard_import"))
    assert_strict_policy(upload_page)
    content = b"email;name;stamps;points;card_number\npaper.one@example.com;Paper One;3;120;\nbad;x;1;1;\n"
    preview_url = client.post(
        reverse("admin:loyalty_loyaltycard_import"), {"file": SimpleUploadedFile("cards.csv", content, "text/csv")}
    )["Location"]
    preview = client.get(preview_url)
    assert "bo-row-error" in preview.content.decode()
    assert_strict_policy(preview)
    client.post(preview_url)
    progress = client.get(preview_url)
    assert 'id="bo-import-bar"' in progress.content.decode()
    assert_strict_policy(progress)


# --- API -----------------------------------------------------------------------------------------


def test_swagger_ui_page(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    page = assert_strict_policy(response)
    assert len(page.script_nonces) == 1  # Swagger UI's start-up script, nonce'd


def test_json_responses_have_no_policy(client, world):
    for path in (
        f"/api/v1/loyalty/programs/{world.alpha.store.code}",
        "/api/v1/no-such-endpoint",
        reverse("api-schema"),
    ):
        for accept in ("application/json", "text/html"):  # the API answers JSON even to a browser
            response = client.get(path, HTTP_ACCEPT=accept)
            assert not response["Content-Type"].startswith("text/html"), path
            assert HEADER not in response, path


def test_a_response_that_sets_its_own_policy_keeps_it():
    def view(request):
        response = HttpResponse("<p>custom</p>")
        response[HEADER] = "default-src 'none'"
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/somewhere/"))
    assert response[HEADER] == "default-src 'none'"
