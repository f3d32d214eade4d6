"""Customer e-mails: the link to their card page, in their language.

E-mails are plain text: their templates (``templates/**/email/*.txt``, subject
included) render inside ``{% autoescape off %}``, so "O'Brien & Co" reads as
typed instead of "O&#x27;Brien &amp; Co". Should an HTML part ever be added,
it gets its own ``.html`` template, escaped as usual.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from loyalty.models import LoyaltyCard

logger = logging.getLogger(__name__)


def card_page_url(card: LoyaltyCard, language: str | None = None) -> str:
    """Absolute URL of the customer's card page (the unguessable ``public_token``), in their language."""
    with translation.override(language or card.customer.preferred_language or settings.LANGUAGE_CODE):
        return settings.SITE_URL + reverse("loyalty:card", kwargs={"token": card.public_token})


def card_link_send(*, card: LoyaltyCard) -> None:
    """E-mail the card's page link to its customer (never to anyone else)."""
    customer = card.customer
    language = customer.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"card": card, "customer": customer, "program": card.program, "card_url": card_page_url(card, language)}
        # One line whatever the program's name holds: a line break in a subject is a header injection.
        subject = " ".join(render_to_string("loyalty/email/card_link_subject.txt", context).split())
        body = render_to_string("loyalty/email/card_link.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [customer.email])
    logger.info("card_link.sent", extra={"card_id": card.pk})
