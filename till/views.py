"""The till: one page, its web app manifest and its service worker.

The page is a shell: everything it does goes through the public store API
(``/api/v1/auth/token``, ``/api/v1/store/loyalty/…``) from the browser, with
the token it got at sign-in. Nothing here reads or writes loyalty data.

The till is not under the language prefixes of the customer pages (the
service worker's scope must be one path), so the staff's language comes from
the language cookie the till's picker sets on the device, then from the
browser's ``Accept-Language``.
"""

import json

from django.conf import settings
from django.utils.dates import MONTHS
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from till.shell import shell, static_prefix
from till.strings import till_strings

THEME_COLOUR = "#1F3A5F"
ICONS = (
    ("till/icons/icon-192.png", "192x192", "any"),
    ("till/icons/icon-512.png", "512x512", "any"),
    ("till/icons/maskable-512.png", "512x512", "maskable"),
)


def _staff_language(request) -> str:
    return translation.get_language_from_request(request, check_path=False)


@require_GET
@never_cache
def till_page(request):
    language = _staff_language(request)
    with translation.override(language):
        context = {
            "language": language,
            "languages": settings.LANGUAGES,
            "birthday_days": range(1, 32),
            "birthday_months": MONTHS.items(),
            "static_prefix": static_prefix(),
            "strings": till_strings(),
            "config": {
                "language": language,
                "languageCookie": settings.LANGUAGE_COOKIE_NAME,
                "apiBase": "/api/v1",
                "serviceWorker": reverse("till:service-worker"),
            },
            "theme_colour": THEME_COLOUR,
        }
        response = render(request, "till/index.html", context)
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


@require_GET
def manifest(request):
    with translation.override(_staff_language(request)):
        body = {
            "name": _("Loyalty till"),
            "short_name": _("Till"),
            "description": _("Scan loyalty cards, give stamps and points."),
            "start_url": reverse("till:page"),
            "scope": reverse("till:page"),
            "display": "standalone",
            "orientation": "any",
            "background_color": "#FFFFFF",
            "theme_color": THEME_COLOUR,
            "icons": [
                {"src": static_prefix() + path, "sizes": sizes, "type": "image/png", "purpose": purpose}
                for path, sizes, purpose in ICONS
            ],
        }
    response = JsonResponse(body, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


@require_GET
def service_worker(request):
    version, urls = shell()
    script = render_to_string(
        "till/sw.js",
        {"version": version, "shell_json": json.dumps([reverse("till:page"), *urls]), "page": reverse("till:page")},
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # Browsers check the worker for updates anyway; no-cache makes every check see a new version at once.
    response["Cache-Control"] = "no-cache"
    return response
