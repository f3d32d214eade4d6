"""The daily wallet-credential expiry warnings: e-mailed to the platform administrators, once per threshold."""

import datetime
import logging
from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from tests import factories
from wallet.expiry import expiry_warnings_send, threshold_reached
from wallet.models import CredentialExpiryWarning
from wallet.tasks import credential_expiry_warnings

pytestmark = pytest.mark.django_db


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("mail server says no")


@pytest.fixture
def administrators(settings):
    """Who hears: active superusers with an address; not an inactive one, one without address, or a merchant."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # passwords are not under test
    admin = factories.make_admin()
    factories.make_user(username="former-admin", email="former@example.com", is_superuser=True, is_active=False)
    factories.make_user(username="no-address-admin", email="", is_superuser=True)
    factories.make_user("owner", factories.make_merchant("Café Alpha"), username="owner", email="owner@example.com")
    return [admin.email]


def _expiring_subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def test_the_tightest_threshold_reached_is_the_one_warned_about():
    assert [threshold_reached(days) for days in (45, 30, 20, 14, 10, 7, 6, 1.5, 1, 0.2, 0, -3)] == [
        None, 30, 30, 14, 14, 7, 7, 7, 1, 1, 0, 0,
    ]  # fmt: skip


def test_a_certificate_expiring_in_10_days_warns_once_at_14_then_at_7(apple_configured, administrators, caplog):
    files = apple_configured(signer_days=10)
    expires_on = files.signer.not_valid_after_utc.strftime("%Y-%m-%d %H:%M")
    caplog.set_level(logging.WARNING, logger="wallet.expiry")

    # given a certificate 10 days from expiry: the first run sends the 14-day warning, not the 30-day one too
    assert credential_expiry_warnings.delay().get() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == administrators
    assert message.subject == f"Wallet: your Apple pass-signing certificate expires on {expires_on} UTC"
    assert f"LOYALTY_APPLE_SIGNER_CERT_PATH ({files.signer_cert}) expires on {expires_on} UTC." in message.body
    assert "That is in 10 days." in message.body
    assert "python manage.py wallet_doctor" in message.body
    logged = [record for record in caplog.records if record.getMessage() == "wallet.credential_expiring"]
    assert [(record.threshold_days, record.credential) for record in logged] == [(14, "apple_pass_certificate")]
    assert list(CredentialExpiryWarning.objects.values_list("threshold_days", flat=True)) == [14]

    # the next day's run: the same threshold, nothing more
    assert expiry_warnings_send(now=timezone.now() + datetime.timedelta(days=1)) == []
    assert len(mail.outbox) == 1

    # at 6 days left: the 7-day warning, once
    six_days_left = timezone.now() + datetime.timedelta(days=4)
    sent = expiry_warnings_send(now=six_days_left)
    assert [(warning.threshold_days, warning.recipient_count) for warning in sent] == [(7, 1)]
    assert len(mail.outbox) == 2
    assert "That is in 6 days." in mail.outbox[1].body
    assert expiry_warnings_send(now=six_days_left) == []
    assert len(mail.outbox) == 2


def test_each_administrator_gets_an_e_mail_of_their_own(apple_configured, administrators):
    second = factories.make_admin()
    apple_configured(signer_days=25)
    expiry_warnings_send()
    assert sorted(message.to[0] for message in mail.outbox) == sorted([*administrators, second.email])
    assert all(len(message.to) == 1 for message in mail.outbox)


def test_an_expired_certificate_is_warned_about_once_more(apple_configured, administrators):
    started = timezone.now() - datetime.timedelta(days=400)
    apple_configured(signer_valid_from=started, signer_days=365)
    sent = expiry_warnings_send()
    assert [warning.threshold_days for warning in sent] == [0]
    assert mail.outbox[0].subject.startswith("Wallet: your Apple pass-signing certificate expired on ")
    assert "Until it is replaced" in mail.outbox[0].body
    assert expiry_warnings_send() == []


def test_a_renewed_certificate_starts_again(apple_configured, administrators):
    apple_configured(signer_days=10)
    expiry_warnings_send()
    apple_configured(signer_days=12)  # another certificate: another fingerprint
    assert [warning.threshold_days for warning in expiry_warnings_send()] == [14]
    assert len(mail.outbox) == 2


def test_the_wwdr_intermediate_is_watched_too(apple_configured, administrators):
    apple_configured(wwdr_days=5)
    sent = expiry_warnings_send()
    assert [(str(warning.credential.kind), warning.threshold_days) for warning in sent] == [
        ("apple_wwdr_certificate", 7)
    ]
    assert "Apple WWDR intermediate certificate" in mail.outbox[0].subject
    assert "www.apple.com/certificateauthority" in mail.outbox[0].body


def test_nothing_is_sent_far_from_expiry(apple_configured, administrators):
    apple_configured(signer_days=365)
    assert credential_expiry_warnings.delay().get() == 0
    assert mail.outbox == []


def test_without_an_administrator_address_the_warning_is_logged(apple_configured, caplog):
    apple_configured(signer_days=3)
    caplog.set_level(logging.WARNING, logger="wallet.expiry")
    sent = expiry_warnings_send()
    assert [(warning.threshold_days, warning.recipient_count) for warning in sent] == [(7, 0)]
    assert mail.outbox == []
    messages = [record.getMessage() for record in caplog.records]
    assert "wallet.credential_expiring" in messages and "wallet.credential_expiry_no_recipient" in messages


def test_a_failing_mail_server_gives_the_warning_back_for_the_next_run(apple_configured, administrators, settings):
    apple_configured(signer_days=10)
    settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
    assert credential_expiry_warnings.delay().get() == 0  # eager: one attempt, logged
    assert not CredentialExpiryWarning.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert credential_expiry_warnings.delay().get() == 1
    assert len(mail.outbox) == 1


def test_the_daily_schedule_exists_after_migrate():
    task = PeriodicTask.objects.get(name="wallet.credential_expiry_warnings")
    assert task.task == "wallet.credential_expiry_warnings"
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "8", "*")
    assert str(task.crontab.timezone) == "Europe/Luxembourg"
