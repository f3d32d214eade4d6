"""The till's page, manifest and service worker as the server sends them."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings

from loyalty import exceptions as domain
from tests.test_csp import assert_strict_policy
from till.shell import shell
from till.strings import ERRORS, MESSAGES

pytestmark = pytest.mark.django_db

# Codes the API sends besides the domain errors (loyalty_site/api/exceptions.py, the idempotency support),
# and the ones the till makes itself: each needs a message in the staff's language.
API_CODES = {
    "NOT_AUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "NOT_ACCEPTABLE",
    "UNSUPPORTED_MEDIA_TYPE",
    "THROTTLED",
    "VALIDATION_ERROR",
    "REQUEST_TOO_LARGE",
    "CONFLICT",
    "SERVER_ERROR",
    "SERVICE_UNAVAILABLE",
    "REQUEST_IN_PROGRESS",
    "IDEMPOTENCY_CONFLICT",
}
TILL_CODES = {"SIGN_IN_FAILED", "NETWORK", "UNKNOWN"}
# Domain errors of the platform-admin API and the public wallet links, which the till never calls.
# Raised only in the back office (alerts are reviewed and campaigns sent there) or by the Google save link.
NOT_ON_THE_TILLS_PATH = {
    "MERCHANT_NOT_FOUND",
    "GOOGLE_WALLET_NOT_CONFIGURED",
    "GOOGLE_WALLET_UNAVAILABLE",
    "ALERT_NOT_FOUND",
    "ALERT_ALREADY_REVIEWED",
    "CAMPAIGN_NOT_FOUND",
    "CAMPAIGN_NOT_CHANGEABLE",
    "CAMPAIGN_DAILY_LIMIT",
}


def _domain_codes() -> set[str]:
    codes, classes = set(), [domain.LoyaltyError]
    while classes:
        klass = classes.pop()
        classes.extend(klass.__subclasses__())
        codes.add(klass.code)
    return codes


class JsonBlocks(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.blocks, self._current = {}, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") == "application/json":
            self._current = attributes["id"]

    def handle_data(self, data):
        if self._current:
            self.blocks[self._current] = json.loads(data)
            self._current = None


def _strings(response) -> dict:
    return JsonBlocks(response.content.decode()).blocks["till-strings"]


def test_every_error_code_the_api_can_send_has_a_message():
    # Imported so that every LoyaltyError subclass outside loyalty.exceptions is registered too.
    import loyalty.services.customers  # noqa: F401
    import staff.services.tokens  # noqa: F401

    assert (_domain_codes() - NOT_ON_THE_TILLS_PATH) | API_CODES | TILL_CODES <= set(ERRORS)


@pytest.mark.parametrize(
    ("language", "sign_in", "cooldown"),
    [
        ("en", "Sign in to the till", "Too soon for another stamp"),
        ("fr", "Se connecter à la caisse", "Trop tôt pour un autre tampon"),
        ("de", "An der Kasse anmelden", "Zu früh für einen weiteren Stempel"),
        ("lb", "Op der Keess umellen", "Ze fréi fir en anere Stempel"),
    ],
)
def test_the_page_is_in_the_language_of_the_cookie(client, language, sign_in, cooldown):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/till/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'<html lang="{language}"' in body and sign_in in body
    strings = _strings(response)
    assert cooldown in strings["errors"]["STAMP_COOLDOWN"]
    assert set(strings["messages"]) == set(MESSAGES)
    assert "Cookie" in response["Vary"] and "Accept-Language" in response["Vary"]


def test_without_a_cookie_the_browser_language_counts(client):
    response = client.get("/till/", HTTP_ACCEPT_LANGUAGE="de-LU,de;q=0.9")
    assert '<html lang="de"' in response.content.decode()


def test_the_page_has_the_strict_policy_and_no_inline_script(client, settings):
    settings.DEBUG = False
    response = client.get("/till/")
    page = assert_strict_policy(response)
    assert page.script_nonces == []  # the JSON blocks are data, the code is in files
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    assert "http:" not in policy and "https:" not in policy  # no third-party origin
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_the_page_loads_its_modules_and_manifest_from_this_site(client):
    body = client.get("/till/").content.decode()
    assert re.search(r'<script type="module" src="/static/till/app\.js"></script>', body)
    assert '<link rel="manifest" href="/till/manifest.webmanifest">' in body
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', body)).replace("#", "")


def test_manifest(client):
    response = client.get("/till/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == manifest["scope"] == "/till/" and manifest["display"] == "standalone"
    assert manifest["name"] == "Caisse fidélité"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert (settings.BASE_DIR / "static" / icon["src"].removeprefix("/static/")).is_file(), icon["src"]


def test_service_worker_keeps_the_shell_and_never_the_api(client):
    response = client.get("/till/sw.js")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert "Content-Security-Policy" not in response
    script = response.content.decode()
    version, urls = shell()
    assert f'const VERSION = "till-{version}";' in script
    shell_urls = json.loads(re.search(r"const SHELL = (\[.*?\]);", script).group(1))
    assert shell_urls == ["/till/", *urls]
    assert "/static/till/app.js" in shell_urls and "/static/till/vendor/qr/decode.js" in shell_urls
    assert not any(url.startswith("/api/") for url in shell_urls)
    assert 'url.pathname.startsWith("/api/")' in script  # API requests pass through untouched


def test_the_shell_version_changes_with_a_file(tmp_path, settings, monkeypatch):
    import till.shell as module

    (tmp_path / "till").mkdir()
    (tmp_path / "till" / "app.js").write_text("one")
    monkeypatch.setattr(module, "SHELL_DIRECTORY", tmp_path / "till")
    settings.DEBUG = True
    first, urls = module.shell()
    (tmp_path / "till" / "app.js").write_text("two")
    second, _urls = module.shell()

    assert urls == ("/static/till/app.js",) and first != second


def test_vendored_decoder_has_its_licence_version_and_update_line():
    vendor = settings.BASE_DIR / "static" / "till" / "vendor" / "qr"
    assert (vendor / "LICENSE-MIT").is_file() and (vendor / "LICENSE").is_file()
    version = (vendor / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert "npm pack" in (vendor / "README.md").read_text()
    assert "package.json" not in {path.name for path in vendor.iterdir()}


def test_the_till_is_only_a_client_of_the_public_api():
    root = settings.BASE_DIR
    for path in (root / "till").glob("*.py"):
        source = path.read_text()
        for private in ("loyalty.services", "loyalty.selectors", "staff.", "wallet."):
            assert f"from {private}" not in source and f"import {private}" not in source, (path.name, private)
    script = (root / "static" / "till" / "app.js").read_text()
    assert 'const STORE = "/store/loyalty";' in script
    paths = re.findall(r'api\.(?:get|post|request)\(\s*(?:"[A-Z]+",\s*)?([`"][^`",]+)', script)
    paths += re.findall(r'path: ([`"][^`",]+)', script)  # the operations' endpoints
    assert len(paths) >= 13
    assert all(path.startswith(("`${STORE}/", '"/auth/token')) for path in paths), paths
    assert _config_api_base() == "/api/v1"


def _config_api_base() -> str:
    from django.test import Client

    return JsonBlocks(Client().get("/till/").content.decode()).blocks["till-config"]["apiBase"]
