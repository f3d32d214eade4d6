"""What we tell Google: a program as a LoyaltyClass, a card as a LoyaltyObject.

Pure functions of our models (no HTTP, no writes), so the payloads can be
compared with what Google last accepted and only the difference is sent.
Fields follow Google's Wallet REST reference (``loyaltyclass``,
``loyaltyobject``).
"""

import hashlib
import re

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from loyalty.models import LoyaltyCard, Program
from loyalty.selectors.customer_pages import program_rewards

from .config import GoogleWalletConfig

# Google: an id is "<issuer id>.<suffix>", the suffix made of letters, digits, '.', '_' and '-'.
_NOT_ID_CHARACTER = re.compile(r"[^A-Za-z0-9._-]")
_TERMS_MAX_CHARACTERS = 1000
_REWARDS_LISTED = 10
# Google's recommended maximum: a longer program name does not show whole on smaller screens.
PROGRAM_NAME_MAX_CHARACTERS = 20


def _id_prefix(config: GoogleWalletConfig) -> str:
    return _NOT_ID_CHARACTER.sub("-", config.id_prefix) or "loyalty"


def class_id_for(program: Program, config: GoogleWalletConfig) -> str:
    return f"{config.issuer_id}.{_id_prefix(config)}-program-{program.pk}"


def object_id_for(card: LoyaltyCard, config: GoogleWalletConfig) -> str:
    return f"{config.issuer_id}.{_id_prefix(config)}-card-{card.pk}"


def _absolute(url: str) -> str:
    if url.startswith(("https://", "http://")):
        return url
    return f"{settings.SITE_URL}/{url.lstrip('/')}"


def program_logo_url(program: Program) -> str:
    """Public URL of the logo Google shows (it fetches it): the program's squared for its circle, else our default.

    The URL names a version of the upload and the colour it is padded with, so a change is a new URL that
    Google fetches (and a changed class, PATCHed like any other change).
    """
    if program.logo:
        version = hashlib.sha256(f"{program.logo.name}|{program.background_color}".encode()).hexdigest()[:16]
        path = reverse("wallet_google:program_logo", kwargs={"program_id": program.pk, "version": version})
        return _absolute(path)
    return _absolute(reverse("wallet_google:default_logo"))


def program_name_shown(name: str) -> str:
    """The program's name as Google shows it whole: at most 20 characters, cut at a word with "…" if longer."""
    name = " ".join(name.split())
    if len(name) <= PROGRAM_NAME_MAX_CHARACTERS:
        return name
    kept = name[: PROGRAM_NAME_MAX_CHARACTERS - 1]  # room for the "…"
    if name[len(kept)] != " " and " " in kept:
        kept = kept[: kept.rindex(" ")]  # the last whole word; a first word longer than that is cut
    return kept.rstrip(" -–—,.;:/&+") + "…"


def _localized(render) -> dict:
    """A Google LocalizedString: ``render()`` evaluated in every site language."""
    values = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            values[code] = str(render())
    return localized_string(values)


def localized_string(values: dict[str, str]) -> dict:
    """A Google LocalizedString from ``{language: text}`` holding every site language."""
    default = settings.LANGUAGE_CODE
    return {
        "defaultValue": {"language": default, "value": values[default]},
        "translatedValues": [{"language": code, "value": value} for code, value in values.items() if code != default],
    }


def gettext_in_default(message: str) -> str:
    """``message`` in the site's default language (the plain field beside a localized one)."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(message)


def _text_module(module_id: str, header, body) -> dict:
    """A text module whose header and body are rendered in every language."""
    localized_header = _localized(header)
    localized_body = _localized(body)
    return {
        "id": module_id,
        "header": localized_header["defaultValue"]["value"],
        "body": localized_body["defaultValue"]["value"],
        "localizedHeader": localized_header,
        "localizedBody": localized_body,
    }


def _reward_body(program: Program, rewards: list) -> str:
    lines = []
    if program.has_stamps:
        reward = program.stamps_reward_description or gettext("a reward")
        lines.append(
            ngettext(
                "%(count)s stamp: %(reward)s", "%(count)s stamps: %(reward)s", program.stamps_target
            )
            % {"count": program.stamps_target, "reward": reward}
        )
    if program.has_points:
        for reward in rewards:
            lines.append(
                ngettext("%(points)s point: %(reward)s", "%(points)s points: %(reward)s", reward.points_required)
                % {"points": reward.points_required, "reward": reward.name}
            )
    return "\n".join(lines)


def _earn_body(program: Program) -> str:
    lines = []
    if program.has_stamps:
        lines.append(gettext("Show this card at the till: one stamp per visit."))
    if program.has_points:
        lines.append(
            ngettext(
                "%(points)s point for every euro you spend.",
                "%(points)s points for every euro you spend.",
                program.points_per_euro,
            )
            % {"points": program.points_per_euro}
        )
    return "\n".join(lines)


def class_payload(program: Program, config: GoogleWalletConfig) -> dict:
    """The LoyaltyClass of a program (one per program, shared by all its cards)."""
    merchant = program.merchant
    rewards = program_rewards(program=program)[:_REWARDS_LISTED]
    payload = {
        "id": class_id_for(program, config),
        "issuerName": merchant.name,
        # The merchant's own words, in no particular language: no localizedProgramName, which Google would show
        # instead. Google shows 20 characters of it, so a longer name is shortened here rather than cut there.
        "programName": program_name_shown(program.name),
        "programLogo": {
            "sourceUri": {"uri": program_logo_url(program)},
            "contentDescription": _localized(lambda: gettext("Logo of %(merchant)s") % {"merchant": merchant.name}),
        },
        "hexBackgroundColor": program.background_color,
        "accountIdLabel": gettext_in_default("Card number"),
        "localizedAccountIdLabel": _localized(lambda: gettext("Card number")),
        "accountNameLabel": gettext_in_default("Member"),
        "localizedAccountNameLabel": _localized(lambda: gettext("Member")),
        # Google: every insert and update of a class asks for review again.
        "reviewStatus": "UNDER_REVIEW",
        "textModulesData": [
            _text_module("reward", lambda: gettext("Reward"), lambda: _reward_body(program, rewards)),
            _text_module("how-to-earn", lambda: gettext("How to earn"), lambda: _earn_body(program)),
        ],
    }
    if program.terms_text.strip():
        payload["textModulesData"].append(
            {
                "id": "terms",
                "header": gettext_in_default("Terms"),
                "localizedHeader": _localized(lambda: gettext("Terms")),
                "body": program.terms_text.strip()[:_TERMS_MAX_CHARACTERS],
            }
        )
    links = []
    if merchant.website:
        links.append(
            {
                "id": "website",
                "uri": merchant.website,
                "description": gettext_in_default("Website"),
                "localizedDescription": _localized(lambda: gettext("Website")),
            }
        )
    if program.privacy_url:
        links.append(
            {
                "id": "privacy",
                "uri": program.privacy_url,
                "description": gettext_in_default("Privacy policy"),
                "localizedDescription": _localized(lambda: gettext("Privacy policy")),
            }
        )
    if links:
        payload["linksModuleData"] = {"uris": links}
    return payload


def object_payload(card: LoyaltyCard, config: GoogleWalletConfig, *, object_id: str | None = None) -> dict:
    """The LoyaltyObject of a card: its balance, state and barcode, labels in the customer's language."""
    program = card.program
    customer = card.customer
    with translation.override(customer.preferred_language or settings.LANGUAGE_CODE):
        stamps = {"label": gettext("Stamps"), "balance": {"string": f"{card.stamp_count}/{program.stamps_target}"}}
        points = {"label": gettext("Points"), "balance": {"int": card.points_balance}}
    payload = {
        "id": object_id or object_id_for(card, config),
        "classId": class_id_for(program, config),
        "state": "ACTIVE" if card.is_active else "INACTIVE",
        "accountId": card.card_number,
    }
    if customer.full_name:
        payload["accountName"] = customer.full_name
    if program.has_stamps:
        payload["loyaltyPoints"] = stamps
        if program.has_points:
            payload["secondaryLoyaltyPoints"] = points
    else:
        payload["loyaltyPoints"] = points
    payload["barcode"] = {"type": "QR_CODE", "value": card.qr_code_data, "alternateText": card.card_number}
    return payload
