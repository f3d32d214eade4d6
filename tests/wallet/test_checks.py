"""The wallet configuration's system checks: each wrong configuration an operator can make is named, with its fix.

Chains come from ``tests/wallet/conftest.py`` (the dev generator's
``issue_certificate``); ``manage.py check`` reports the same findings as
``wallet_doctor`` (tests/wallet/test_doctor.py), from ``wallet/doctor.py``.
"""

import datetime
import json

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.wallet.conftest import G1_UNIT, KEY_PASSWORD, PASS_TYPE_ID, TEAM_ID
from tests.wallet.google.fake_google import ISSUER_ID, new_service_account_key, service_account_info
from wallet.apple.config import apple_config
from wallet.apple.dev_certs import DEV_ORGANIZATION
from wallet.checks import wallet_configuration


def _messages() -> dict[str, checks.CheckMessage]:
    found = wallet_configuration(None)
    by_id = {message.id: message for message in found}
    assert len(by_id) == len(found), [message.id for message in found]  # one line per problem
    return by_id


def test_a_right_configuration_passes_every_check(apple_configured):
    apple_configured()
    assert _messages() == {}
    assert apple_config() is not None


def test_checks_run_with_manage_py_check_and_its_deploy_mode(apple_configured):
    apple_configured(pass_type_id="pass.com.example.other")
    for options in ({}, {"deploy": True}, {"tags": ["wallet"]}):
        with pytest.raises(SystemCheckError) as raised:
            call_command("check", **options)
        assert "(wallet.E015) Apple Wallet: LOYALTY_APPLE_PASS_TYPE_ID: this pass type id" in str(raised.value)


def test_a_pass_type_id_that_is_not_the_certificates_uid_is_an_error(apple_configured):
    apple_configured(pass_type_id="pass.com.example.other")
    message = _messages()["wallet.E015"]
    assert message.level == checks.ERROR
    assert message.msg == (
        "Apple Wallet: LOYALTY_APPLE_PASS_TYPE_ID: this pass type id (pass.com.example.other) does not match "
        f"your certificate, which was issued for {PASS_TYPE_ID}."
    )
    assert message.hint == (
        f"Set LOYALTY_APPLE_PASS_TYPE_ID={PASS_TYPE_ID}, or use the certificate of pass.com.example.other."
    )


def test_a_certificate_without_uid_is_not_a_pass_type_id_certificate(apple_configured):
    apple_configured(uid=None)
    assert "it is not a Pass Type ID certificate" in _messages()["wallet.E015"].msg


def test_a_team_id_that_is_not_the_certificates_ou_is_an_error(apple_configured):
    apple_configured(team_id="ZZZZZ99999")
    message = _messages()["wallet.E016"]
    assert message.level == checks.ERROR
    assert message.msg == (
        "Apple Wallet: LOYALTY_APPLE_TEAM_ID: this team id (ZZZZZ99999) does not match your certificate, "
        f"whose team is {TEAM_ID}."
    )
    assert message.hint == f"Set LOYALTY_APPLE_TEAM_ID={TEAM_ID}."


def test_an_expired_certificate_is_an_error(apple_configured):
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=400)
    files = apple_configured(signer_valid_from=started, signer_days=365)
    message = _messages()["wallet.E020"]
    assert message.level == checks.ERROR
    expired_on = files.signer.not_valid_after_utc.strftime("%Y-%m-%d %H:%M")
    assert message.msg == (
        f"Apple Wallet: LOYALTY_APPLE_SIGNER_CERT_PATH: your pass certificate expired on {expired_on} UTC."
    )
    assert "Renew it in the Apple Developer portal" in message.hint


def test_a_certificate_expiring_within_30_days_is_a_warning(apple_configured):
    files = apple_configured(signer_days=10)
    messages = _messages()
    assert set(messages) == {"wallet.W021"}
    message = messages["wallet.W021"]
    assert message.level == checks.WARNING
    expires_on = files.signer.not_valid_after_utc.strftime("%Y-%m-%d %H:%M")
    assert message.msg == (
        f"Apple Wallet: LOYALTY_APPLE_SIGNER_CERT_PATH: your pass certificate expires on {expires_on} UTC (in 10 days)."
    )
    assert apple_config() is not None  # still signing: it is a warning


def test_an_expiring_wwdr_certificate_is_a_warning_too(apple_configured):
    apple_configured(wwdr_days=20)
    message = _messages()["wallet.W021"]
    assert "LOYALTY_APPLE_WWDR_CERT_PATH: your WWDR certificate expires on" in message.msg
    assert "www.apple.com/certificateauthority" in message.hint


def test_a_private_key_of_another_certificate_is_an_error(apple_configured):
    files = apple_configured(key_of_other_certificate=True)
    message = _messages()["wallet.E014"]
    assert message.level == checks.ERROR
    assert message.msg == (
        f"Apple Wallet: LOYALTY_APPLE_SIGNER_KEY_PATH: the private key in {files.signer_key} "
        "does not belong to your certificate."
    )


def test_a_g1_like_wwdr_intermediate_is_an_error(apple_configured):
    """The retired G1 intermediate (OU "Apple Worldwide Developer Relations"): iPhones refuse such passes."""
    files = apple_configured(wwdr_unit=G1_UNIT)
    messages = _messages()
    assert set(messages) == {"wallet.E018"}  # it did issue the signer: only its generation is wrong
    assert messages["wallet.E018"].msg.startswith(
        f"Apple Wallet: LOYALTY_APPLE_WWDR_CERT_PATH: the WWDR certificate in {files.wwdr_cert} is not the G4 "
        f"intermediate (O=Apple Inc.,OU={G1_UNIT},"
    )
    assert "Worldwide Developer Relations - G4" in messages["wallet.E018"].hint


def test_a_wwdr_intermediate_that_did_not_issue_the_certificate_is_an_error(apple_configured):
    apple_configured(signer_issued_by_other_key=True)  # same issuer name, another key's signature
    message = _messages()["wallet.E019"]
    assert message.level == checks.ERROR
    assert message.msg.startswith(
        "Apple Wallet: LOYALTY_APPLE_WWDR_CERT_PATH: the WWDR certificate did not issue your pass certificate"
    )


def test_an_unreadable_certificate_is_an_error(apple_configured, settings, tmp_path):
    apple_configured()
    settings.LOYALTY_APPLE_SIGNER_CERT_PATH = str(tmp_path / "missing.pem")
    message = _messages()["wallet.E012"]
    assert message.msg == (
        f"Apple Wallet: LOYALTY_APPLE_SIGNER_CERT_PATH: your pass certificate cannot be read from "
        f"{tmp_path / 'missing.pem'}: no such file or directory."
    )


def test_a_file_that_is_not_a_certificate_is_an_error(apple_configured, settings):
    files = apple_configured()
    settings.LOYALTY_APPLE_WWDR_CERT_PATH = str(files.signer_key)
    message = _messages()["wallet.E017"]
    assert message.msg == (
        f"Apple Wallet: LOYALTY_APPLE_WWDR_CERT_PATH: {files.signer_key} is not a certificate (PEM or DER)."
    )


def test_an_encrypted_key_needs_its_password(apple_configured, settings):
    apple_configured(key_password=KEY_PASSWORD)
    assert _messages() == {}

    settings.LOYALTY_APPLE_SIGNER_KEY_PASSWORD = ""
    assert "is encrypted and no password is set" in _messages()["wallet.E013"].msg

    settings.LOYALTY_APPLE_SIGNER_KEY_PASSWORD = "not the password"
    message = _messages()["wallet.E013"]
    assert "LOYALTY_APPLE_SIGNER_KEY_PASSWORD is not its password" in message.msg
    assert "not the password" not in message.msg + (message.hint or "")


def test_a_partial_apple_configuration_is_a_warning_that_says_what_is_missing(apple_configured, settings):
    apple_configured()
    settings.LOYALTY_APPLE_WWDR_CERT_PATH = ""
    messages = _messages()
    assert set(messages) == {"wallet.W010"}
    assert messages["wallet.W010"].msg == "Apple Wallet: off because LOYALTY_APPLE_WWDR_CERT_PATH is not set."
    assert apple_config() is None


def test_nothing_configured_reports_nothing(settings):
    for name in ("PASS_TYPE_ID", "TEAM_ID", "SIGNER_CERT_PATH", "SIGNER_KEY_PATH", "WWDR_CERT_PATH"):
        setattr(settings, f"LOYALTY_APPLE_{name}", "")
    settings.LOYALTY_GOOGLE_ISSUER_ID = ""
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = ""
    assert _messages() == {}


# --- APNs token key -------------------------------------------------------------------------------


def test_a_readable_p256_token_key_with_its_id_passes(apple_configured, settings, apns_token_key):
    apple_configured()
    settings.LOYALTY_APPLE_APNS_AUTH = "token"
    settings.LOYALTY_APPLE_APNS_KEY_PATH = str(apns_token_key)
    settings.LOYALTY_APPLE_APNS_KEY_ID = "ABC123DEFG"
    assert _messages() == {}


def test_a_token_key_that_is_not_an_ec_key_is_an_error(apple_configured, settings):
    files = apple_configured()
    settings.LOYALTY_APPLE_APNS_AUTH = "token"
    settings.LOYALTY_APPLE_APNS_KEY_PATH = str(files.signer_key)  # RSA
    settings.LOYALTY_APPLE_APNS_KEY_ID = "ABC123DEFG"
    message = _messages()["wallet.E023"]
    assert message.msg == (
        f"Apple Wallet: LOYALTY_APPLE_APNS_KEY_PATH: {files.signer_key} is not the P-256 (ES256) key Apple issues "
        "for APNs."
    )


def test_a_token_key_missing_or_without_id_is_an_error(apple_configured, settings, tmp_path):
    apple_configured()
    settings.LOYALTY_APPLE_APNS_AUTH = "token"
    settings.LOYALTY_APPLE_APNS_KEY_PATH = str(tmp_path / "AuthKey.p8")
    settings.LOYALTY_APPLE_APNS_KEY_ID = ""
    messages = _messages()
    assert "the APNs key cannot be read from" in messages["wallet.E023"].msg
    assert "no such file or directory" in messages["wallet.E023"].msg
    assert "the key's id is not set" in messages["wallet.E024"].msg


def test_an_unknown_apns_authentication_is_an_error(apple_configured, settings):
    apple_configured()
    settings.LOYALTY_APPLE_APNS_AUTH = "p8"
    assert "'p8' is neither 'certificate' nor 'token'" in _messages()["wallet.E022"].msg


# --- Google Wallet --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def google_key():
    return new_service_account_key()


@pytest.fixture
def google_configured(settings, tmp_path, google_key):
    for name in ("PASS_TYPE_ID", "TEAM_ID", "SIGNER_CERT_PATH", "SIGNER_KEY_PATH", "WWDR_CERT_PATH"):
        setattr(settings, f"LOYALTY_APPLE_{name}", "")
    path = tmp_path / "google-service-account.json"
    path.write_text(json.dumps(service_account_info(google_key, "https://oauth2.googleapis.com/token")))
    settings.LOYALTY_GOOGLE_ISSUER_ID = ISSUER_ID
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(path)
    return path


def test_a_right_google_configuration_passes(google_configured):
    assert _messages() == {}


def test_an_unreadable_google_key_file_is_an_error(google_configured, settings, tmp_path):
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(tmp_path / "nowhere.json")
    message = _messages()["wallet.E032"]
    assert message.level == checks.ERROR
    assert message.msg.startswith(
        f"Google Wallet: LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON: cannot read {tmp_path / 'nowhere.json'}"
    )


def test_a_key_file_that_is_not_a_service_account_key_is_an_error(google_configured):
    info = json.loads(google_configured.read_text())
    google_configured.write_text(json.dumps({**info, "type": "authorized_user"}))
    assert "is not a service-account key" in _messages()["wallet.E032"].msg


def test_a_service_account_key_whose_private_key_is_broken_is_an_error(google_configured):
    info = json.loads(google_configured.read_text())
    google_configured.write_text(json.dumps({**info, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"}))
    message = _messages()["wallet.E032"]
    assert message.msg == (
        f"Google Wallet: LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON: the private key in {google_configured} "
        "cannot be read (RSA, PEM)."
    )
    assert "AAAA" not in message.msg


def test_a_google_key_without_issuer_id_is_a_warning(google_configured, settings):
    settings.LOYALTY_GOOGLE_ISSUER_ID = ""
    message = _messages()["wallet.W030"]
    assert message.msg == "Google Wallet: off because LOYALTY_GOOGLE_ISSUER_ID is not set."


def test_a_non_numeric_issuer_id_is_an_error(google_configured, settings):
    settings.LOYALTY_GOOGLE_ISSUER_ID = "my-issuer"
    assert _messages()["wallet.E031"].msg == (
        "Google Wallet: LOYALTY_GOOGLE_ISSUER_ID: the issuer id 'my-issuer' is not a number."
    )


# --- SITE_URL and its escape hatch ------------------------------------------------------------------


def test_an_insecure_site_url_keeps_apple_wallet_off_with_apple_certificates(apple_configured, settings):
    """Passes signed with Apple's certificate keep their web service URL for good: never an http:// one."""
    apple_configured()
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.ALLOW_INSECURE_SITE_URL = True

    assert apple_config() is None
    messages = _messages()
    assert set(messages) == {"wallet.W001", "wallet.W011"}
    assert messages["wallet.W011"].msg.startswith(
        "Apple Wallet: off because SITE_URL is http://127.0.0.1:8000 (ALLOW_INSECURE_SITE_URL)"
    )
    assert messages["wallet.W001"].msg.startswith(
        "Site: SITE_URL: the site runs on http://127.0.0.1:8000 because ALLOW_INSECURE_SITE_URL=true"
    )


def test_an_insecure_site_url_keeps_apple_wallet_on_with_development_certificates(apple_configured, settings):
    """The bench and a laptop run: DEBUG off, http://, and passes no iPhone would accept anyway."""
    apple_configured(organization=DEV_ORGANIZATION)
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.ALLOW_INSECURE_SITE_URL = True

    assert apple_config() is not None
    assert set(_messages()) == {"wallet.W001"}


def test_the_escape_hatch_changes_nothing_with_an_https_site_url(apple_configured, settings):
    apple_configured()
    settings.ALLOW_INSECURE_SITE_URL = True
    assert apple_config() is not None
    assert _messages() == {}
