"""The card-link e-mail: plain text that says what the customer typed, in their language."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from loyalty.services.notifications import card_link_send
from tests import factories

pytestmark = pytest.mark.django_db

HOSTILE_NAME = "Seán O'Brien & Co <VIP>"
HOSTILE_PROGRAM = "Café & Thé <b>\"Club\"</b>"


def test_plain_text_email_and_subject_carry_names_unescaped(store, program):
    program.name = HOSTILE_PROGRAM
    program.save()
    card = factories.make_card(store, email="sean@example.com", language="en")
    card.customer.full_name = HOSTILE_NAME
    card.customer.save()

    card_link_send(card=card)

    [message] = mail.outbox
    assert message.subject == f"Your {HOSTILE_PROGRAM} card"
    assert f"Hello {HOSTILE_NAME}," in message.body
    assert f"your {HOSTILE_PROGRAM} card" in message.body
    for escaped in ("&amp;", "&#x27;", "&lt;", "&gt;", "&quot;"):
        assert escaped not in message.subject + message.body
    assert getattr(message, "alternatives", []) == []  # no HTML part that would need escaping


def test_every_plain_text_email_template_turns_autoescape_off():
    """Text e-mails are not HTML: each ``.txt`` e-mail template renders with autoescaping off."""
    templates = sorted(Path(settings.BASE_DIR, "templates").glob("**/email/*.txt"))

    assert templates
    assert [path.name for path in templates if "{% autoescape off %}" not in path.read_text()] == []


def test_a_line_break_in_the_program_name_stays_out_of_the_subject_header(store, program):
    program.name = "Café\nBcc: everyone@example.com"
    program.save()
    card = factories.make_card(store, email="sean@example.com", language="en")

    card_link_send(card=card)

    [message] = mail.outbox
    assert message.subject == "Your Café Bcc: everyone@example.com card"
