"""Customer pages: self-enrollment, the card page, the store poster.

Server-rendered, no JavaScript. Each view reads through
``loyalty.selectors.customer_pages`` or writes through one domain service;
what is left here is HTTP: language, throttling, the honeypot, rendering.
"""

import logging
import re

import qrcode
from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from qrcode.image.svg import SvgPathImage

from loyalty.domain.actors import Actor, Channel
from loyalty.exceptions import AlreadyEnrolled, EnrollmentClosed, ProgramInactive, ProgramNotFound, ValidationFailed
from loyalty.forms import JoinForm
from loyalty.models import TransactionType
from loyalty.selectors.customer_pages import (
    JoinAvailability,
    card_for_link_email,
    card_page_get,
    join_page_get,
)
from loyalty.services.campaigns import marketing_consent_withdraw
from loyalty.services.enrollment import customer_enroll
from loyalty.services.notifications import CardLinkReason, card_link_send
from loyalty.services.wallet import wallet_links_get
from loyalty_site.http import client_ip
from loyalty_site.rate_limits import RateDecision, rate_count, throttle_rate

logger = logging.getLogger(__name__)

DEFAULT_BACKGROUND = "#1F3A5F"
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


# --- Language -----------------------------------------------------------------------------


def _supported_language(code: str | None) -> str | None:
    languages = {language for language, _name in settings.LANGUAGES}
    return code if code in languages else None


def _preferred_language_redirect(request):
    """Send an unprefixed GET to the URL of the visitor's language.

    With ``prefix_default_language=False`` an unprefixed URL always means
    English; the poster's QR code points there, so a phone set to French
    (cookie first, then Accept-Language) is sent on to /fr/...
    """
    if request.method != "GET" or translation.get_language_from_path(request.path_info):
        return None
    preferred = translation.get_language_from_request(request, check_path=False)
    if preferred == settings.LANGUAGE_CODE or not _supported_language(preferred):
        return None
    match = request.resolver_match
    with translation.override(preferred):
        url = reverse(f"{match.namespace}:{match.url_name}", kwargs=match.kwargs)
    query = request.META.get("QUERY_STRING", "")
    response = HttpResponseRedirect(f"{url}?{query}" if query else url)
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


def _url_in_language(view_name: str, language: str, **kwargs) -> str:
    with translation.override(language):
        return reverse(view_name, kwargs=kwargs)


# --- Request facts ---------------------------------------------------------------------------


def join_attempt_count(ip_address: str | None) -> RateDecision:
    """Count one sign-up attempt for this IP, at ``THROTTLE_ENROLL`` (the public enrollment API's rate)."""
    return rate_count(scope="join", subject=ip_address or "unknown", rate=throttle_rate("enroll"))


# --- Presentation helpers -------------------------------------------------------------------------


def _relative_luminance(colour: str) -> float:
    channels = []
    for index in (1, 3, 5):
        value = int(colour[index : index + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: str, preferred: str | None = None) -> str:
    """The merchant's text colour when it reads well on the background (WCAG AA, 4.5:1), else black or white."""
    if preferred and _HEX_COLOUR.match(preferred) and contrast_ratio(background, preferred) >= 4.5:
        return preferred
    return "#000000" if contrast_ratio(background, "#000000") >= contrast_ratio(background, "#FFFFFF") else "#FFFFFF"


def brand_colours(program) -> dict:
    background = program.background_color if program and _HEX_COLOUR.match(program.background_color or "") else None
    background = background or DEFAULT_BACKGROUND
    text = readable_text_colour(background, program.text_color if program else None)
    return {"background": background, "text": text}


def qr_svg(data: str, *, label: str) -> str:
    """An inline SVG QR code (no image request, no JavaScript) that scales to its container."""
    image = qrcode.make(data, image_factory=SvgPathImage, border=4)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', "<svg", svg, count=1)
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    svg = svg.replace(
        "<svg ",
        f'<svg class="qr" role="img" aria-label="{label}" shape-rendering="crispEdges" '
        'preserveAspectRatio="xMidYMid meet" ',
        1,
    )
    # A white square behind the modules keeps the quiet zone white on any page colour.
    svg = re.sub(r"(<svg[^>]*>)", r'\1<rect width="100%" height="100%" fill="#fff"/>', svg, count=1)
    return mark_safe(svg)  # noqa: S308 - built by qrcode from our data; the label is escaped above


def activity_description(transaction, program) -> str:
    """One line of the card's history, in plain words, in the active language."""
    kind = transaction.type
    stamps = abs(transaction.stamps_delta)
    points = abs(transaction.points_delta)
    if kind == TransactionType.STAMP_EARNED:
        return ngettext("You collected %(count)d stamp.", "You collected %(count)d stamps.", stamps) % {"count": stamps}
    if kind == TransactionType.STAMP_REDEEMED:
        reward = program.stamps_reward_description or _("your reward")
        return _("You exchanged your stamps for: %(reward)s.") % {"reward": reward}
    if kind == TransactionType.STAMP_VOIDED:
        return ngettext("%(count)d stamp was cancelled.", "%(count)d stamps were cancelled.", stamps) % {
            "count": stamps
        }
    if kind == TransactionType.POINTS_EARNED:
        return ngettext("You earned %(count)d point.", "You earned %(count)d points.", points) % {"count": points}
    if kind == TransactionType.POINTS_REDEEMED:
        reward = transaction.reward.name if transaction.reward_id else _("a reward")
        return ngettext(
            "You spent %(count)d point on: %(reward)s.", "You spent %(count)d points on: %(reward)s.", points
        ) % {"count": points, "reward": reward}
    if kind == TransactionType.POINTS_VOIDED:
        return ngettext("%(count)d point was cancelled.", "%(count)d points were cancelled.", points) % {
            "count": points
        }
    if kind == TransactionType.POINTS_ADJUSTED:
        if transaction.points_delta >= 0:
            return ngettext(
                "The shop added %(count)d point to your card.", "The shop added %(count)d points to your card.", points
            ) % {"count": points}
        return ngettext(
            "The shop removed %(count)d point from your card.",
            "The shop removed %(count)d points from your card.",
            points,
        ) % {"count": points}
    if kind == TransactionType.POINTS_EXPIRED:
        return ngettext("%(count)d point expired.", "%(count)d points expired.", points) % {"count": points}
    if kind == TransactionType.CARD_ENROLLED:
        return _("Your card was created.")
    if kind == TransactionType.CARD_DEACTIVATED:
        return _("Your card was deactivated.")
    if kind == TransactionType.CARD_REACTIVATED:
        return _("Your card was reactivated.")
    if kind == TransactionType.BALANCE_IMPORTED:
        return _("Your balance was carried over from your previous card.")
    return transaction.get_type_display()


# --- Pages ---------------------------------------------------------------------------------------


def _not_found(request):
    return render(request, "loyalty/not_found.html", status=404)


def _unavailable(request, page, *, availability=None):
    availability = availability or page.availability
    context = {
        "store": page.store,
        "program": page.program if page.program and page.program.is_active else None,
        "brand": brand_colours(page.program),
        "is_closed": availability == JoinAvailability.CLOSED,
    }
    return render(request, "loyalty/join_unavailable.html", context)


def _join_context(page, form) -> dict:
    return {
        "store": page.store,
        "merchant": page.merchant,
        "program": page.program,
        "rewards": page.rewards,
        "brand": brand_colours(page.program),
        "form": form,
    }


def _link_sent(request, page, email: str):
    context = {"store": page.store, "program": page.program, "brand": brand_colours(page.program), "email": email}
    return render(request, "loyalty/join_link_sent.html", context)


def _open_join_page(request, store_code):
    """The store's join page data, or the response to send instead (language redirect, 404, closed)."""
    redirect = _preferred_language_redirect(request)
    if redirect is not None:
        return None, redirect
    page = join_page_get(store_code=store_code)
    if page is None:
        return None, _not_found(request)
    if not page.is_open:
        return None, _unavailable(request, page)
    return page, None


@require_http_methods(["GET", "POST"])
def join(request, store_code):
    page, response = _open_join_page(request, store_code)
    if response is not None:
        return response

    if request.method == "GET":
        return render(request, "loyalty/join.html", _join_context(page, JoinForm(language=translation.get_language())))

    ip_address = client_ip(request)
    attempt = join_attempt_count(ip_address)
    if not attempt.allowed:
        context = {"store": page.store, "brand": brand_colours(page.program)}
        response = render(request, "loyalty/throttled.html", context, status=429)
        response["Retry-After"] = str(attempt.retry_after_seconds)
        return response

    # Answer (and re-render errors) in the language the person picked on the form.
    language = _supported_language(request.POST.get("preferred_language")) or translation.get_language()
    translation.activate(language)
    request.LANGUAGE_CODE = language

    form = JoinForm(request.POST, language=language)
    if form.is_bot:
        logger.info("join.honeypot", extra={"store_code": page.store.code})
        return _link_sent(request, page, request.POST.get("email", ""))
    if not form.is_valid():
        return render(request, "loyalty/join.html", _join_context(page, form))

    data = form.cleaned_data
    actor = Actor(
        merchant=page.merchant,
        store=page.store,
        channel=Channel.PUBLIC,
        ip_address=ip_address,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:256],
    )
    try:
        enrollment = customer_enroll(
            actor=actor,
            email=data["email"],
            full_name=data["full_name"],
            phone=data["phone"],
            language=data["preferred_language"],
            marketing_consent=data["marketing_consent"],
            birthday_month=data["birthday_month"],
            birthday_day=data["birthday_day"],
        )
    except AlreadyEnrolled as error:
        card = card_for_link_email(merchant=page.merchant, card_id=error.details.get("card_id"))
        if card is not None:
            # At most once per card every 10 minutes (shared with the public API): no inbox flooding.
            card_link_send(card=card, reason=CardLinkReason.ALREADY_ENROLLED)
        return _link_sent(request, page, data["email"])
    except EnrollmentClosed:
        return _unavailable(request, page, availability=JoinAvailability.CLOSED)
    except (ProgramInactive, ProgramNotFound):
        return _unavailable(request, page, availability=JoinAvailability.UNAVAILABLE)
    except ValidationFailed as error:
        # The service words its details in English for the API; the page has its own translated wording.
        if "email" in (error.details or {}):
            form.add_error("email", _("Enter a valid e-mail address."))
        else:
            form.add_error(None, str(error.message))
        return render(request, "loyalty/join.html", _join_context(page, form))

    if not enrollment.customer_created:
        # The e-mail belonged to a customer already (enrolled by the shop, without
        # this program's card): the card goes to that mailbox, not to this browser.
        card_link_send(card=enrollment.card, reason=CardLinkReason.NEW_CARD)
        return _link_sent(request, page, data["email"])

    response = HttpResponseRedirect(
        _url_in_language("loyalty:card", data["preferred_language"], token=enrollment.card.public_token)
    )
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        data["preferred_language"],
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@never_cache
@require_GET
def card(request, token):
    redirect = _preferred_language_redirect(request)
    if redirect is not None:
        return redirect
    page = card_page_get(public_token=token)
    if page is None:
        return _not_found(request)
    card = page.card
    program = page.program
    target = program.stamps_target
    filled = min(card.stamp_count, target)
    wallet = wallet_links_get(card=card)
    context = {
        "card": card,
        "program": program,
        "store": card.enrolled_store,
        "brand": brand_colours(program),
        "stamps": [index < filled for index in range(target)],
        "stamps_ready": program.has_stamps and card.stamp_count >= target,
        "rewards": page.rewards,
        "affordable_rewards": page.affordable_rewards,
        "activity": [
            {"transaction": transaction, "text": activity_description(transaction, program)}
            for transaction in page.recent_activity
        ],
        # Translators: a Django date format (https://docs.djangoproject.com/en/stable/ref/templates/builtins/#date).
        "activity_date_format": pgettext("card activity date format", "M j, Y, g:i a"),
        "card_number_groups": " ".join(card.card_number[index : index + 4] for index in range(0, 12, 4)),
        "qr_svg": qr_svg(card.qr_code_data, label=_("QR code of your card, to scan at the till")),
        "apple_wallet_url": wallet.get("apple_pass_url"),
        "google_wallet_url": wallet.get("google_save_url"),
    }
    return render(request, "loyalty/card.html", context)


@require_GET
def poster(request, store_code):
    page, response = _open_join_page(request, store_code)
    if response is not None:
        return response
    # The unprefixed URL: each phone that scans it is sent on to its own language.
    join_url = settings.SITE_URL + _url_in_language("loyalty:join", settings.LANGUAGE_CODE, store_code=page.store.code)
    context = {
        **_join_context(page, None),
        "join_url": join_url,
        "qr_svg": qr_svg(join_url, label=_("QR code to join the loyalty program")),
    }
    return render(request, "loyalty/poster.html", context)


@never_cache
@csrf_exempt  # the one-click POST comes from the customer's mail provider; the signed token is the credential
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """Stop marketing e-mails: GET asks to confirm (a link scanner must not unsubscribe), POST does it (RFC 8058).

    Both answers are the same page whoever the token names, valid or not:
    nothing about the customer is shown or revealed.
    """
    if request.method == "POST":
        marketing_consent_withdraw(token=token)
    response = render(request, "loyalty/unsubscribe.html", {"is_done": request.method == "POST"})
    response["Referrer-Policy"] = "no-referrer"
    return response
