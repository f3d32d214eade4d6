"""Reads of the automatic messages: a message's text in a language, the cheapest reward, a card's expiry date."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min, Q
from django.utils import translation

from loyalty.models import AUTOMATIC_MESSAGE_DEFAULT_TEXTS, LoyaltyCard, MerchantSettings, Program, Reward

LANGUAGE_CODES = tuple(code for code, _name in settings.LANGUAGES)


def automatic_message_text(*, merchant_settings: MerchantSettings, kind: str, language: str | None) -> str:
    """The merchant's text of ``kind`` in ``language``, else the default text translated into that language.

    The default, not the merchant's text in another language: a French
    customer reads French, even when the merchant only rewrote the English.
    """
    language = language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE
    written = getattr(merchant_settings, f"{kind}_text_{language}", "")
    if written:
        return written
    with translation.override(language):
        return str(AUTOMATIC_MESSAGE_DEFAULT_TEXTS[kind])


def cheapest_reward_points(*, program: Program) -> int | None:
    """The points the cheapest active reward needs; None when the program has none."""
    return Reward.objects.filter(program=program, is_active=True).aggregate(cheapest=Min("points_required"))["cheapest"]


# --- Points expiry: the one rule, read by the daily expiry job and by the warning before it ---------------------


def card_points_expire_at(*, card: LoyaltyCard, program: Program) -> datetime | None:
    """When the card's points expire: ``points_expiration_days`` after its last activity (or enrollment).

    None when the program's points never expire. The expiry job expires a
    balance once this moment is past; the "points expiring" message warns
    before it. Both read it here (or through :func:`cards_points_expiring_before`).
    """
    if program.points_expiration_days is None or not program.has_points:
        return None
    return (card.last_activity_at or card.created_at) + timedelta(days=program.points_expiration_days)


def cards_points_expiring_before(*, program: Program, moment: datetime) -> Q:
    """The cards whose :func:`card_points_expire_at` is before ``moment``, as a filter for a query."""
    last_activity_before = moment - timedelta(days=program.points_expiration_days)
    return Q(last_activity_at__lt=last_activity_before) | Q(
        last_activity_at__isnull=True, created_at__lt=last_activity_before
    )
