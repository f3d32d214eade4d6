"""Content-Security-Policy on every HTML page, with a nonce per request.

Django 5.2 has no CSP support of its own. The policy lives here, in code: it
describes what our own templates and static files need, so it changes with
them, not per deployment.

Scripts and styles come from our own origin. The few inline ``<script>`` and
``<style>`` blocks that must stay (the program's colours on the customer
pages, Swagger UI's start-up script) carry ``nonce="{{ csp_nonce }}"``; the
``csp_nonce`` context processor puts the request's nonce in every template.
``style="…"`` attributes cannot carry a nonce and no page of ours uses one, so
no page allows ``'unsafe-inline'``. Setting ``element.style`` from a script file
(the admin's colour preview, jQuery's ``.hide()``) is not an inline style and
stays allowed.

One policy fits every page: Swagger UI at /api/docs and django-celery-beat's
form run with the nonce (their templates are overridden in ``templates/``) and
Django admin's own scripts are files, so no path needs a policy of its own.
"""

import secrets

from django.conf import settings

HEADER = "Content-Security-Policy"

# "{nonce}" is replaced by the request's nonce.
POLICY = {
    "default-src": "'self'",
    "script-src": "'self' 'nonce-{nonce}'",
    "style-src": "'self' 'nonce-{nonce}'",
    # data: for the small SVG icons that Django admin's and Swagger UI's stylesheets embed.
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def content_security_policy(*, nonce: str) -> str:
    return "; ".join(f"{directive} {sources.format(nonce=nonce)}" for directive, sources in POLICY.items())


def _is_html(response) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().lower() == "text/html"


def _is_debug_error_page(response) -> bool:
    # With DEBUG, Django's technical 404/500 pages are built by its own template
    # engine with inline styles and scripts and no way to give them a nonce.
    return settings.DEBUG and response.status_code in (404, 500)


class ContentSecurityPolicyMiddleware:
    """Give each request a nonce and each HTML response the policy that names it.

    JSON, files and other non-HTML responses get no header: a browser applies
    a CSP only to documents. A response that already has the header (a view
    that needs its own) keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if HEADER not in response and _is_html(response) and not _is_debug_error_page(response):
            response[HEADER] = content_security_policy(nonce=request.csp_nonce)
        return response


def csp_nonce(request) -> dict:
    """Template context processor: ``{{ csp_nonce }}`` for the inline blocks that must stay."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
