"""The card-link e-mail: at most one per card every 10 minutes for public requests, sent after commit,
in plain text that says what the customer typed, in their language."""

import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction

from loyalty.models import Customer, LoyaltyCard
from loyalty.services.customers import customer_erase
from loyalty.services.notifications import CardLinkReason, card_link_deliver, card_link_send
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
PUBLIC = CardLinkReason.ALREADY_ENROLLED


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """``card_link_send`` as a request calls it, then what it queued for after the commit."""

    def send(card, reason=PUBLIC, now=NOW):
        with django_capture_on_commit_callbacks(execute=True):
            return card_link_send(card=card, reason=reason, now=now)

    return send


# --- The resend window ----------------------------------------------------------------------------------


def test_public_requests_send_at_most_one_email_per_card_every_ten_minutes(card, send):
    assert send(card) is True
    assert send(card, now=NOW + timedelta(minutes=9, seconds=59)) is False
    assert send(card, reason=CardLinkReason.NEW_CARD, now=NOW + timedelta(minutes=5)) is False
    assert [message.to for message in mail.outbox] == [[card.customer.email]]
    card.refresh_from_db()
    assert card.card_link_sent_at == NOW  # a refused request does not push the window on

    assert send(card, now=NOW + timedelta(minutes=10)) is True
    assert len(mail.outbox) == 2


def test_the_window_is_per_card(store, program, send):
    first, second = factories.make_card(store), factories.make_card(store)

    assert (send(first), send(second)) == (True, True)
    assert sorted(message.to[0] for message in mail.outbox) == sorted([first.customer.email, second.customer.email])


def test_the_back_office_resend_is_sent_within_the_window_and_restarts_it(card, send):
    assert send(card) is True
    assert send(card, reason=CardLinkReason.BACK_OFFICE, now=NOW + timedelta(minutes=1)) is True
    assert send(card, reason=CardLinkReason.BACK_OFFICE, now=NOW + timedelta(minutes=2)) is True
    # A public request within 10 minutes of the merchant's resend sends nothing more.
    assert send(card, now=NOW + timedelta(minutes=11)) is False
    assert len(mail.outbox) == 3
    assert send(card, now=NOW + timedelta(minutes=12)) is True


def test_the_email_leaves_only_after_the_commit(card, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert card_link_send(card=card, reason=PUBLIC, now=NOW) is True
        assert mail.outbox == []

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_a_rolled_back_request_sends_nothing_and_leaves_the_window_open(card, send, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            card_link_send(card=card, reason=PUBLIC, now=NOW)
            raise RuntimeError("the request failed after queueing")

    assert callbacks == [] and mail.outbox == []
    card.refresh_from_db()
    assert card.card_link_sent_at is None
    assert send(card, now=NOW + timedelta(seconds=1)) is True


def test_nothing_is_sent_to_an_erased_customer(store, card, send):
    customer_erase(actor=factories.owner_actor(store), customer_id=card.customer_id)
    card = LoyaltyCard.objects.select_related("customer").get(pk=card.pk)

    assert send(card, reason=CardLinkReason.BACK_OFFICE) is False
    assert mail.outbox == []
    assert card_link_deliver(card_id=card.pk) is False
    assert mail.outbox == []


def test_the_task_reads_the_card_again_and_writes_in_the_current_language(card, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        card_link_send(card=card, reason=PUBLIC, now=NOW)
        Customer.objects.filter(pk=card.customer_id).update(preferred_language="de")

    [message] = mail.outbox
    assert f"/de/card/{card.public_token}/" in message.body
    assert "Hallo" in message.body


def test_an_unreachable_mail_server_is_logged_and_the_request_goes_on(card, send, settings, caplog):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    with caplog.at_level(logging.WARNING, logger="loyalty.tasks"):
        assert send(card) is True

    [record] = [record for record in caplog.records if record.getMessage() == "card_link.delivery_failed"]
    assert (record.card_id, record.error) == (card.pk, "ConnectionRefusedError")
    assert card.customer.email not in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_requests_arriving_together_send_one_email(store, program):
    from tests.loyalty.test_concurrency import run_concurrently

    card_id = factories.make_card(store).pk

    def request(_index):
        card = LoyaltyCard.objects.select_related("customer").get(pk=card_id)
        return card_link_send(card=card, reason=PUBLIC, now=NOW)

    outcomes = run_concurrently(request, count=10)

    assert sorted(outcomes) == [False] * 9 + [True]
    assert len(mail.outbox) == 1


# --- What the e-mail says ---------------------------------------------------------------------------------

HOSTILE_NAME = "Seán O'Brien & Co <VIP>"
HOSTILE_PROGRAM = "Café & Thé <b>\"Club\"</b>"


def test_plain_text_email_and_subject_carry_names_unescaped(store, program):
    program.name = HOSTILE_PROGRAM
    program.save()
    card = factories.make_card(store, email="sean@example.com", language="en")
    card.customer.full_name = HOSTILE_NAME
    card.customer.save()

    card_link_deliver(card_id=card.pk)

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

    card_link_deliver(card_id=card.pk)

    [message] = mail.outbox
    assert message.subject == "Your Café Bcc: everyone@example.com card"
