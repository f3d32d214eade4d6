"""Campaigns: who may write them, when they leave, that e-mail goes only to consenting customers,
once per campaign even when the sending runs again, and that one click unsubscribes."""

import re
from datetime import UTC, datetime, timedelta
from smtplib import SMTPRecipientsRefused

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from loyalty.exceptions import (
    CampaignDailyLimit,
    CampaignNotChangeable,
    CampaignNotFound,
    PermissionDenied,
    ValidationFailed,
)
from loyalty.models import AdminAuditLog, Campaign, CampaignDelivery, CampaignStatus, Customer
from loyalty.services.campaigns import (
    CAMPAIGN_MAX_ATTEMPTS,
    campaign_cancel,
    campaign_create,
    campaign_schedule,
    campaign_send,
    campaign_update,
    campaigns_due_start,
    marketing_consent_withdraw,
    unsubscribe_token,
)
from loyalty.services.customers import customer_erase
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_campaign_limits")]

NOW = datetime(2026, 5, 9, 8, 0, tzinfo=UTC)
TEXT = "Fresh apple pie this Saturday — come and try it!"


@pytest.fixture
def customers(store, program):
    """Three cards: consenting (French), consenting (English), not consenting."""
    return {
        "fr": factories.make_card(store, email="anne@example.com", marketing_consent=True, language="fr"),
        "en": factories.make_card(store, email="ben@example.com", marketing_consent=True, language="en"),
        "none": factories.make_card(store, email="carl@example.com", marketing_consent=False),
    }


def _sent_campaign(author, django_capture_on_commit_callbacks, **fields):
    fields.setdefault("text_en", TEXT)
    campaign = campaign_create(actor=author, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_schedule(actor=author, campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


# --- Writing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_write_campaigns_and_it_is_audited(merchant, role):
    actor = factories.back_office_actor(merchant, role)
    campaign = campaign_create(actor=actor, text_en=TEXT, link_url="https://cafe.example/pie")
    assert campaign.status == CampaignStatus.DRAFT and campaign.created_by == actor.user
    assert AdminAuditLog.objects.filter(
        action="create", object_id=str(campaign.pk), summary="campaign created"
    ).exists()


def test_staff_may_not_write_a_campaign(merchant):
    with pytest.raises(PermissionDenied):
        campaign_create(actor=factories.back_office_actor(merchant, "staff"), text_en=TEXT)
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"text_en": "x" * 141}, "text_en"),
        ({"text_en": TEXT, "link_url": "http://cafe.example/"}, "link_url"),
        ({}, "text_en"),
        ({"text_en": TEXT, "audience": "inactive"}, "audience_days"),
        ({"text_en": TEXT, "audience": "enrolled_at_store"}, "audience_store"),
    ],
)
def test_a_campaign_is_checked_before_it_is_saved(author, fields, field):
    with pytest.raises(ValidationFailed) as raised:
        campaign_create(actor=author, **fields)
    assert field in raised.value.details
    assert Campaign.objects.count() == 0


def test_a_store_of_another_merchant_is_refused(author, other_store):
    with pytest.raises(ValidationFailed):
        campaign_create(actor=author, text_en=TEXT, audience="enrolled_at_store", audience_store=other_store)


def test_the_text_falls_back_to_the_default_language_then_to_any_text(author):
    campaign = campaign_create(actor=author, text_en="Hello", text_fr="Bonjour")
    assert campaign.text_for("fr") == "Bonjour"
    assert campaign.text_for("de") == "Hello"
    only_german = campaign_create(actor=author, text_de="Hallo")
    assert only_german.text_for("fr") == "Hallo"


def test_another_merchants_campaign_is_not_found(author, other_merchant):
    foreign = campaign_create(actor=factories.back_office_actor(other_merchant), text_en=TEXT)
    with pytest.raises(CampaignNotFound):
        campaign_update(actor=author, campaign_id=foreign.pk, text_en="Mine now")
    foreign.refresh_from_db()
    assert foreign.text_en == TEXT


# --- Scheduling and cancelling ----------------------------------------------------------------------


def test_a_naive_time_is_read_in_the_merchants_first_store_zone(author, store):
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign = campaign_schedule(actor=author, campaign_id=campaign.pk, send_at=datetime(2026, 5, 9, 10, 0), now=NOW)
    # Luxembourg is UTC+2 in May
    assert campaign.scheduled_at == datetime(2026, 5, 9, 8, 0, tzinfo=UTC)
    assert campaign.status == CampaignStatus.SCHEDULED


def test_a_scheduled_campaign_can_be_cancelled_and_then_sends_nothing(
    author, customers, django_capture_on_commit_callbacks
):
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign_schedule(actor=author, campaign_id=campaign.pk, send_at=NOW + timedelta(hours=1), now=NOW)
    campaign_cancel(actor=author, campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_due_start(now=NOW + timedelta(hours=2)) == 0
    result = campaign_send(campaign_id=campaign.pk, now=NOW + timedelta(hours=2))
    assert result.status == CampaignStatus.CANCELLED
    assert mail.outbox == [] and CampaignDelivery.objects.count() == 0
    assert AdminAuditLog.objects.filter(summary="campaign cancelled").count() == 1


def test_a_campaign_that_has_started_can_no_longer_be_cancelled_or_changed(
    author, customers, django_capture_on_commit_callbacks
):
    campaign = _sent_campaign(author, django_capture_on_commit_callbacks)
    with pytest.raises(CampaignNotChangeable):
        campaign_cancel(actor=author, campaign_id=campaign.pk)
    with pytest.raises(CampaignNotChangeable):
        campaign_update(actor=author, campaign_id=campaign.pk, text_en="Changed")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.text_en == TEXT


def test_a_campaign_is_not_sent_before_its_time_and_the_minute_job_starts_it(
    author, customers, django_capture_on_commit_callbacks
):
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign_schedule(actor=author, campaign_id=campaign.pk, send_at=NOW + timedelta(hours=1), now=NOW)
    assert campaign_send(campaign_id=campaign.pk, now=NOW).status == CampaignStatus.SCHEDULED
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_due_start(now=NOW + timedelta(hours=1)) == 1
    # Eager Celery ran the task with the real clock, which is past the scheduled time
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and len(mail.outbox) == 2


# --- Sending ---------------------------------------------------------------------------------------------


def test_email_goes_only_to_consenting_customers_in_their_language(
    author, customers, django_capture_on_commit_callbacks
):
    campaign = _sent_campaign(author, django_capture_on_commit_callbacks, text_fr="Tarte aux pommes samedi !")
    assert sorted(message.to[0] for message in mail.outbox) == ["anne@example.com", "ben@example.com"]
    by_address = {message.to[0]: message for message in mail.outbox}
    assert "Tarte aux pommes samedi !" in by_address["anne@example.com"].body
    assert TEXT in by_address["ben@example.com"].body
    statuses = dict(CampaignDelivery.objects.values_list("card__customer__email", "status"))
    assert statuses == {"anne@example.com": "sent", "ben@example.com": "sent", "carl@example.com": "skipped"}
    assert CampaignDelivery.objects.get(card=customers["none"]).error == "no_consent"
    assert campaign.status == CampaignStatus.SENT and campaign.recipients_count == 3


def test_the_email_is_text_as_typed_and_escaped_html_with_a_one_click_unsubscribe(
    merchant, author, customers, django_capture_on_commit_callbacks
):
    merchant.name = "O'Brien & Co"
    merchant.save()
    _sent_campaign(author, django_capture_on_commit_callbacks, text_en="Pie & cake <today>")
    message = next(message for message in mail.outbox if message.to == ["ben@example.com"])
    assert "Pie & cake <today>" in message.body and "O'Brien & Co" in message.subject
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Pie &amp; cake &lt;today&gt;" in html and "<today>" not in html  # escaped in HTML only
    assert f'href="{url}"' in html


def test_running_the_sending_again_sends_no_email_twice(author, customers, django_capture_on_commit_callbacks):
    campaign = _sent_campaign(author, django_capture_on_commit_callbacks)
    # a worker killed after the claim, before "sent": the task runs again on a campaign still sending
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    campaign_send(campaign_id=campaign.pk)
    campaign_send(campaign_id=campaign.pk)
    assert len(mail.outbox) == 2
    assert CampaignDelivery.objects.filter(campaign=campaign).count() == 3


def test_a_resumed_campaign_sends_only_the_rows_still_pending(author, customers, django_capture_on_commit_callbacks):
    # given: the first run was killed after writing the rows and sending to one customer
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign_schedule(actor=author, campaign_id=campaign.pk, now=NOW)  # its task is not run
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING, started_at=NOW)
    for card in customers.values():
        CampaignDelivery.objects.create(campaign=campaign, card=card, channel="email")
    CampaignDelivery.objects.filter(card=customers["fr"]).update(status="sent", sent_at=NOW)
    # when
    result = campaign_send(campaign_id=campaign.pk)
    # then
    assert [message.to for message in mail.outbox] == [["ben@example.com"]]
    assert result.emails_sent == 1 and result.status == CampaignStatus.SENT


def test_a_campaign_a_live_run_holds_is_not_sent_by_a_second_run(author, customers):
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign_schedule(actor=author, campaign_id=campaign.pk, now=NOW)  # its task is not run here
    # a worker is sending it now (it holds the lease)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENDING, lease_until=timezone.now() + timedelta(minutes=4)
    )
    result = campaign_send(campaign_id=campaign.pk)
    assert result.status == CampaignStatus.SENDING and not result.has_retries_pending
    assert mail.outbox == [] and not CampaignDelivery.objects.exists()
    assert campaigns_due_start() == 0  # the minute job leaves it to the run that holds it


def test_a_campaign_left_sending_by_a_dead_worker_is_resumed_by_the_minute_job(
    author, customers, settings, django_capture_on_commit_callbacks
):
    # given: a worker wrote the rows, sent to Anne, and was killed; its lease has lapsed since
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign_schedule(actor=author, campaign_id=campaign.pk, now=NOW)  # its task is not run here
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENDING, started_at=NOW, lease_until=timezone.now() - timedelta(seconds=1)
    )
    for card in customers.values():
        CampaignDelivery.objects.create(campaign=campaign, card=card, channel="email")
    CampaignDelivery.objects.filter(card=customers["fr"]).update(status="sent", sent_at=NOW)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_due_start() == 1
    # then: the rest was sent, once, and the campaign is done and released
    assert [message.to for message in mail.outbox] == [["ben@example.com"]]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.lease_until is None
    assert CampaignDelivery.objects.filter(campaign=campaign).count() == 3


def test_a_refused_email_is_marked_failed_with_the_error_class_only(
    author, customers, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.mail.backends.locmem import EmailBackend

    original = EmailBackend.send_messages

    def refuse_ben(self, messages):
        if messages[0].to == ["ben@example.com"]:
            raise SMTPRecipientsRefused({"ben@example.com": (550, b"no such user ben@example.com")})
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_ben)
    _sent_campaign(author, django_capture_on_commit_callbacks)
    failed = CampaignDelivery.objects.get(card=customers["en"])
    assert failed.status == "failed" and failed.error == "SMTPRecipientsRefused" and failed.sent_at is None
    assert failed.attempts == CAMPAIGN_MAX_ATTEMPTS  # tried again, a bounded number of times
    assert [message.to for message in mail.outbox] == [["anne@example.com"]]
    assert Campaign.objects.get().status == CampaignStatus.SENT


def test_a_refused_email_stays_pending_and_the_next_run_sends_it(author, customers, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    original = EmailBackend.send_messages
    refusals = []

    def refuse_ben_once(self, messages):
        if messages[0].to == ["ben@example.com"] and not refusals:
            refusals.append(1)
            raise SMTPRecipientsRefused({"ben@example.com": (451, b"try again later")})
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_ben_once)
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign_schedule(actor=author, campaign_id=campaign.pk, now=NOW)  # its task is not run here
    first = campaign_send(campaign_id=campaign.pk)
    assert first.has_retries_pending and first.status == CampaignStatus.SENDING
    assert CampaignDelivery.objects.get(card=customers["en"]).status == "pending"
    second = campaign_send(campaign_id=campaign.pk)
    assert second.status == CampaignStatus.SENT and not second.has_retries_pending
    assert sorted(message.to[0] for message in mail.outbox) == ["anne@example.com", "ben@example.com"]
    assert CampaignDelivery.objects.get(card=customers["en"]).attempts == 2


def test_an_erased_customer_gets_nothing(author, customers, django_capture_on_commit_callbacks):
    customer_erase(actor=author, customer_id=customers["fr"].customer_id)
    _sent_campaign(author, django_capture_on_commit_callbacks)
    assert [message.to for message in mail.outbox] == [["ben@example.com"]]


# --- Unsubscribe ---------------------------------------------------------------------------------


def _page_without_nonce_and_path(response) -> str:
    content = response.content.decode().replace(response.wsgi_request.path, "")
    return re.sub(r'(nonce|value)="[^"]*"', "", content)  # the CSP nonce and CSRF token change every time


def test_the_one_click_post_withdraws_consent_and_the_page_reveals_nothing(
    client, author, customers, django_capture_on_commit_callbacks
):
    _sent_campaign(author, django_capture_on_commit_callbacks)
    message = next(message for message in mail.outbox if message.to == ["ben@example.com"])
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    path = url.split("://", 1)[1].split("/", 1)[1]
    # a link scanner's GET changes nothing
    page = client.get("/" + path)
    assert page.status_code == 200
    assert Customer.objects.get(email="ben@example.com").marketing_consent is True
    # the mail provider's one-click POST (RFC 8058), without a CSRF token
    response = client.post("/" + path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    customer = Customer.objects.get(email="ben@example.com")
    assert customer.marketing_consent is False and customer.marketing_consent_withdrawn_at is not None
    content = response.content.decode()
    assert "ben@example.com" not in content and customer.full_name not in content
    # a forged token gets the very same page and changes nothing
    forged = client.post(reverse("loyalty:unsubscribe", args=["forged-token"]))
    assert forged.status_code == 200
    assert _page_without_nonce_and_path(forged) == _page_without_nonce_and_path(response)


def test_after_unsubscribing_the_next_campaign_sends_no_email(author, customers, django_capture_on_commit_callbacks):
    assert marketing_consent_withdraw(token=unsubscribe_token(customers["en"].customer)) is True
    _sent_campaign(author, django_capture_on_commit_callbacks)
    assert [message.to for message in mail.outbox] == [["anne@example.com"]]


def test_a_bad_token_withdraws_nothing(customers):
    assert marketing_consent_withdraw(token="nope") is False
    assert Customer.objects.filter(marketing_consent=True).count() == 2


# --- Limits ----------------------------------------------------------------------------------------


@pytest.fixture
def limits(settings):
    settings.LOYALTY_CAMPAIGN_WINDOW_START_HOUR = 8
    settings.LOYALTY_CAMPAIGN_WINDOW_END_HOUR = 21
    settings.LOYALTY_CAMPAIGNS_PER_DAY = 1


@pytest.mark.parametrize(
    "local_time, expected_utc",
    [
        (datetime(2026, 5, 9, 6, 30), datetime(2026, 5, 9, 6, 0, tzinfo=UTC)),  # before 08:00: at 08:00 that day
        (datetime(2026, 5, 9, 12, 0), datetime(2026, 5, 9, 10, 0, tzinfo=UTC)),  # inside: as asked
        (datetime(2026, 5, 9, 21, 0), datetime(2026, 5, 10, 6, 0, tzinfo=UTC)),  # at 21:00: the next morning
    ],
)
def test_a_campaign_outside_the_local_window_waits_until_it_opens(author, store, limits, local_time, expected_utc):
    campaign = campaign_create(actor=author, text_en=TEXT)
    campaign = campaign_schedule(
        actor=author, campaign_id=campaign.pk, send_at=local_time, now=datetime(2026, 5, 9, 0, 0, tzinfo=UTC)
    )
    assert campaign.scheduled_at == expected_utc


def test_send_now_at_night_waits_for_the_morning_and_sends_nothing_yet(
    author, store, customers, limits, django_capture_on_commit_callbacks
):
    campaign = campaign_create(actor=author, text_en=TEXT)
    night = datetime(2026, 5, 9, 21, 30, tzinfo=UTC)  # 23:30 in Luxembourg
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_schedule(actor=author, campaign_id=campaign.pk, now=night)
    assert campaign.scheduled_at == datetime(2026, 5, 10, 6, 0, tzinfo=UTC)
    assert campaign.status == CampaignStatus.SCHEDULED and mail.outbox == []


def test_one_campaign_a_day_per_merchant(author, store, other_merchant, limits):
    first = campaign_create(actor=author, text_en=TEXT)
    campaign_schedule(actor=author, campaign_id=first.pk, send_at=datetime(2026, 5, 9, 9, 0), now=NOW)
    second = campaign_create(actor=author, text_en="Another")
    with pytest.raises(CampaignDailyLimit):
        campaign_schedule(actor=author, campaign_id=second.pk, send_at=datetime(2026, 5, 9, 20, 0), now=NOW)
    second.refresh_from_db()
    assert second.status == CampaignStatus.DRAFT and second.scheduled_at is None
    # the next day is free, a cancelled campaign frees its day, and other merchants have their own days
    campaign_schedule(actor=author, campaign_id=second.pk, send_at=datetime(2026, 5, 10, 9, 0), now=NOW)
    campaign_cancel(actor=author, campaign_id=first.pk)
    third = campaign_create(actor=author, text_en="Third")
    campaign_schedule(actor=author, campaign_id=third.pk, send_at=datetime(2026, 5, 9, 9, 0), now=NOW)
    factories.make_store(other_merchant)
    foreign = campaign_create(actor=factories.back_office_actor(other_merchant), text_en="Theirs")
    campaign_schedule(
        actor=factories.back_office_actor(other_merchant), campaign_id=foreign.pk, send_at=datetime(2026, 5, 9, 9, 0), now=NOW
    )
