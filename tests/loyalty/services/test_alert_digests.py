"""The daily alert e-mail: at 07:00 local, yesterday's new alerts, once a day per recipient, in their language."""

from datetime import UTC, datetime, timedelta
from smtplib import SMTPException

import pytest
from django.core import mail

from loyalty.models import Alert, AlertDigestSent, AlertRule, AlertSeverity, MerchantSettings
from loyalty.services.alert_digests import alert_digests_send
from tests import factories

pytestmark = pytest.mark.django_db

# Friday 14 March 2025 in Luxembourg (UTC+1): 07:00 local is 06:00 UTC.
SEVEN_LOCAL = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)
YESTERDAY_NOON = datetime(2025, 3, 13, 11, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    merchant = factories.make_merchant("Café Digest", slug="cafe-digest")
    store = factories.make_store(merchant, code="digest-centre", timezone="Europe/Luxembourg")
    factories.make_program(merchant)
    return store


def _alert(store, at, *, subject="card:1", rule=AlertRule.BUSY_CARD, card=None):
    return Alert.objects.create(
        merchant=store.merchant,
        rule=rule,
        severity=AlertSeverity.MEDIUM,
        store=store,
        card=card,
        subject_key=subject,
        window_start_at=at,
        window_end_at=at,
        created_at=at,
    )


def _people(shop):
    owner = factories.make_user(role="owner", merchant=shop.merchant, stores=[shop], email="owner@digest.example")
    station = factories.make_store(shop.merchant, code="digest-station")
    manager = factories.make_user(role="manager", merchant=shop.merchant, stores=[station], email="mgr@digest.example")
    return owner, manager, station


def test_sent_once_after_seven_local_with_yesterdays_alerts(shop):
    owner, _manager, _station = _people(shop)
    card = factories.make_card(shop)
    _alert(shop, YESTERDAY_NOON, card=card)
    _alert(shop, datetime(2025, 3, 12, 22, 59, tzinfo=UTC), subject="card:2")  # Wednesday 23:59 local: not yesterday
    _alert(shop, SEVEN_LOCAL - timedelta(minutes=30), subject="card:3")  # today

    assert alert_digests_send(now=SEVEN_LOCAL - timedelta(minutes=1)).emails == 0  # 06:59 local
    result = alert_digests_send(now=SEVEN_LOCAL)

    assert result.emails == 1
    (message,) = mail.outbox
    assert message.to == ["owner@digest.example"]
    assert message.subject == "Café Digest: 1 new alert yesterday"
    assert card.card_number in message.body and "Busy card" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and card.card_number in html
    # Once a day, however many runs follow.
    assert alert_digests_send(now=SEVEN_LOCAL + timedelta(hours=1)).emails == 0
    assert alert_digests_send(now=SEVEN_LOCAL + timedelta(hours=15)).emails == 0
    assert len(mail.outbox) == 1
    assert AlertDigestSent.objects.get().day.isoformat() == "2025-03-13"


def test_nothing_without_new_alerts_and_nothing_when_turned_off(shop):
    _people(shop)
    assert alert_digests_send(now=SEVEN_LOCAL).emails == 0
    _alert(shop, YESTERDAY_NOON)
    MerchantSettings.objects.update_or_create(merchant=shop.merchant, defaults={"alert_digest_enabled": False})
    assert alert_digests_send(now=SEVEN_LOCAL).emails == 0
    assert mail.outbox == [] and not AlertDigestSent.objects.exists()


def test_managers_get_their_stores_alerts_in_their_language(shop):
    owner, manager, station = _people(shop)
    manager.membership.language = "fr"
    manager.membership.save(update_fields=["language"])
    _alert(shop, YESTERDAY_NOON, subject="card:1")
    _alert(station, YESTERDAY_NOON, subject="card:2")

    alert_digests_send(now=SEVEN_LOCAL)

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert by_recipient["owner@digest.example"].subject == "Café Digest: 2 new alerts yesterday"
    french = by_recipient["mgr@digest.example"]
    assert french.subject == "Café Digest : 1 nouvelle alerte hier"
    assert station.name in french.body and shop.name not in french.body


def test_no_email_mentions_another_merchant(shop):
    _people(shop)
    other_store = factories.make_store(factories.make_merchant("Other", slug="other-digest"), code="other-digest")
    factories.make_user(role="owner", merchant=other_store.merchant, stores=[other_store], email="o@other.example")
    _alert(other_store, YESTERDAY_NOON)

    alert_digests_send(now=SEVEN_LOCAL)

    assert [message.to for message in mail.outbox] == [["o@other.example"]]
    assert "Café Digest" not in mail.outbox[0].body and other_store.name in mail.outbox[0].body


def test_a_refused_email_is_tried_again_next_hour(shop, monkeypatch):
    _people(shop)
    _alert(shop, YESTERDAY_NOON)
    from django.core.mail import EmailMultiAlternatives

    original = EmailMultiAlternatives.send

    def refuse(self, fail_silently=False):
        raise SMTPException("mail server down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    assert alert_digests_send(now=SEVEN_LOCAL).failed == 1
    assert not AlertDigestSent.objects.exists()
    monkeypatch.setattr(EmailMultiAlternatives, "send", original)
    assert alert_digests_send(now=SEVEN_LOCAL + timedelta(hours=1)).emails == 1


def test_the_hourly_digest_job_is_scheduled_and_sends_through_the_task(shop):
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from loyalty.tasks import send_alert_digests

    job = PeriodicTask.objects.get(name="loyalty.send_alert_digests")
    assert (job.task, job.interval.every, job.interval.period) == ("loyalty.send_alert_digests", 1, "hours")
    _people(shop)
    _alert(shop, timezone.now() - timedelta(days=1))
    first = send_alert_digests.apply().get()
    again = send_alert_digests.apply().get()
    # Before 07:00 local nothing is due yet; after it, once.
    assert first["emails"] + again["emails"] == len(mail.outbox) <= 1
    assert again["emails"] == 0
