"""Customer e-mails: the link to their card page, in their language.

One door: :func:`card_link_send` decides whether the card's link may be
e-mailed now and queues it; the Celery task ``loyalty.send_card_link`` then
calls :func:`card_link_deliver`, which re-reads the card and sends. The join
page, the public API and the back office's "Resend the card link" all go
through it.

E-mails are plain text: their templates (``templates/**/email/*.txt``, subject
included) render inside ``{% autoescape off %}``, so "O'Brien & Co" reads as
typed instead of "O&#x27;Brien &amp; Co". Should an HTML part ever be added,
it gets its own ``.html`` template, escaped as usual.
"""

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from loyalty.models import LoyaltyCard
from loyalty.services.automatic_messages import welcome_text_take

logger = logging.getLogger(__name__)

# Anyone can type someone's e-mail address into the join page or the public
# API: each card's link is e-mailed at most once in this time for them.
CARD_LINK_RESEND_MINUTES = 10


class CardLinkReason(StrEnum):
    ALREADY_ENROLLED = "already_enrolled"  # a public sign-up with the e-mail of a customer who has the card
    NEW_CARD = "new_card"  # a public sign-up made a card for a customer the shop already knew
    BACK_OFFICE = "back_office"  # the merchant clicked "Resend the card link"
    WELCOME = "welcome"  # a new card, of a merchant with the welcome message on (its text is in the e-mail)

    @property
    def is_public(self) -> bool:
        return self is CardLinkReason.ALREADY_ENROLLED or self is CardLinkReason.NEW_CARD


def card_page_url(card: LoyaltyCard, language: str | None = None) -> str:
    """Absolute URL of the customer's card page (the unguessable ``public_token``), in their language."""
    with translation.override(language or card.customer.preferred_language or settings.LANGUAGE_CODE):
        return settings.SITE_URL + reverse("loyalty:card", kwargs={"token": card.public_token})


def card_link_send(*, card: LoyaltyCard, reason: CardLinkReason, now: datetime | None = None) -> bool:
    """Queue the e-mail with the card's page link to its customer (never to anyone else); True when queued.

    A public request (``ALREADY_ENROLLED``, ``NEW_CARD``) sends at most one
    e-mail per card every ``CARD_LINK_RESEND_MINUTES``, whether it came from the
    join page or the public API: the window is the card's ``card_link_sent_at``,
    claimed with one conditional UPDATE, so of two requests arriving together
    exactly one sends. The caller answers the same either way ("check your
    e-mail"), so the window reveals nothing.

    The back office (``BACK_OFFICE``) is not held to the window: the merchant
    is logged in, the action is in the audit log, and someone who clicks
    "Resend" expects an e-mail to leave. It still records the time, so a
    public request just after it sends nothing more.

    A customer whose data was erased has no address left: nothing is sent.
    The e-mail itself leaves from a Celery task after the caller's commit.
    """
    if card.customer.erased_at is not None:
        return False
    now = now or timezone.now()
    claim = LoyaltyCard.objects.filter(pk=card.pk)
    if reason.is_public:
        window_start = now - timedelta(minutes=CARD_LINK_RESEND_MINUTES)
        claim = claim.filter(Q(card_link_sent_at__isnull=True) | Q(card_link_sent_at__lte=window_start))
    if not claim.update(card_link_sent_at=now):
        logger.info("card_link.not_resent", extra={"card_id": card.pk, "reason": str(reason)})
        return False
    card.card_link_sent_at = now
    from loyalty.tasks import send_card_link  # tasks import services, not the other way round at load time

    card_id = card.pk
    transaction.on_commit(lambda: send_card_link.delay(card_id))
    logger.info("card_link.queued", extra={"card_id": card_id, "reason": str(reason)})
    return True


def card_link_deliver(*, card_id: int) -> bool:
    """E-mail the card's page link to its customer, in their stored language; False when there is no one to tell.

    Reads the card again: the customer may have been erased, or have changed
    language, since the e-mail was queued.
    """
    card = LoyaltyCard.objects.select_related("customer", "program").filter(pk=card_id).first()
    if card is None or card.customer.erased_at is not None:
        logger.info("card_link.not_delivered", extra={"card_id": card_id})
        return False
    customer = card.customer
    language = customer.preferred_language or settings.LANGUAGE_CODE
    # The first e-mail of a card whose merchant has the welcome on carries the welcome text (once).
    welcome_text = welcome_text_take(card=card, language=language)
    with translation.override(language):
        context = {
            "card": card,
            "customer": customer,
            "program": card.program,
            "card_url": card_page_url(card, language),
            "welcome_text": welcome_text,
        }
        # One line whatever the program's name holds: a line break in a subject is a header injection.
        subject = " ".join(render_to_string("loyalty/email/card_link_subject.txt", context).split())
        body = render_to_string("loyalty/email/card_link.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [customer.email])
    logger.info("card_link.sent", extra={"card_id": card_id})
    return True
