"""The page at ``/``: what this site is, and where to go from here.

In development (``DEBUG``, the embedded run of ``make run``) it also lists the
demo stores' join pages and the demo logins and PINs, read from the
``loyalty_demo`` command's own data so the page and the command never disagree.
With ``DEBUG`` off a stranger gets a plain page with the back-office link only:
no API documentation, no till link, and never a demo password.
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from loyalty.selectors.customer_pages import stores_open_for_joining
from staff.models import Role


def _role_label(role: str) -> str:
    return Role(role).label if role in Role.values else _("platform administrator")


def demo_context() -> dict | None:
    """The demo's stores, logins and PINs; ``None`` while ``loyalty_demo`` has not been run."""
    from loyalty.management.commands import loyalty_demo as demo

    merchants = (demo.CAFE, demo.BAKERY)
    stores = stores_open_for_joining(merchant_slugs=[merchant["slug"] for merchant in merchants])
    if not stores:
        return None
    return {
        "stores": stores,
        "logins": [
            {**login, "role_label": _role_label(login["role"])}
            for login in (demo.ADMIN, *(login for merchant in merchants for login in merchant["users"]))
        ],
        "pins": [
            {"store": code, "name": name, "pin": pin} for merchant in merchants for code, name, pin in merchant["pins"]
        ],
    }


@require_safe
def landing(request):
    context = {"back_office_url": reverse("admin:index"), "is_development": settings.DEBUG}
    if settings.DEBUG:
        context.update(
            api_docs_url=reverse("api-docs"),
            till_url=reverse("till:page"),
            demo=demo_context(),
        )
    return render(request, "landing.html", context)
