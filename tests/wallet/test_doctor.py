"""`manage.py wallet_doctor`: every setting, what was checked, what is wrong in plain words, and never a secret."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.wallet.conftest import KEY_PASSWORD, PASS_TYPE_ID, TEAM_ID, write_chain
from tests.wallet.google.fake_google import ISSUER_ID, new_service_account_key, service_account_info

ROOT = Path(__file__).resolve().parent.parent.parent


def _doctor(*arguments) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("wallet_doctor", *arguments, stdout=out, no_color=True)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_a_right_configuration_is_explained_and_exits_zero(apple_configured):
    files = apple_configured()
    out, error = _doctor()
    assert error is None
    assert "Apple Wallet: on" in out
    assert f"LOYALTY_APPLE_PASS_TYPE_ID           {PASS_TYPE_ID}" in out
    assert f"LOYALTY_APPLE_SIGNER_CERT_PATH       {files.signer_cert}" in out
    assert "[  ok   ] the pass type id matches the certificate (its UID)" in out
    assert "[  ok   ] the WWDR certificate is Apple's G4 intermediate" in out
    assert "Google Wallet: off (not configured)" in out
    assert out.rstrip().endswith("No problems found.")


def test_a_wrong_configuration_is_explained_in_plain_words_and_exits_one(apple_configured):
    files = apple_configured(pass_type_id="pass.com.example.other", signer_days=10)
    out, error = _doctor()
    assert error is not None and error.returncode == 1
    assert "Apple Wallet: on, with problems (see below)" in out
    assert (
        "[ ERROR ] the pass type id matches the certificate (its UID): this pass type id (pass.com.example.other) "
        f"does not match your certificate, which was issued for {PASS_TYPE_ID}"
    ) in out
    assert f"(wallet.E015) Set LOYALTY_APPLE_PASS_TYPE_ID={PASS_TYPE_ID}" in out
    expires_on = files.signer.not_valid_after_utc.strftime("%Y-%m-%d %H:%M")
    assert f"your pass certificate expires on {expires_on} UTC (in 10 days)" in out
    assert "1 error, 1 warning: see above." in out


def test_json_for_monitoring(apple_configured):
    files = apple_configured(team_id="ZZZZZ99999")
    out, error = _doctor("--json")
    assert error is not None and error.returncode == 1
    report = json.loads(out)
    assert (report["ok"], report["errors"], report["warnings"]) == (False, 1, 0)
    apple = next(section for section in report["sections"] if section["key"] == "apple")
    assert apple["settings"]["LOYALTY_APPLE_TEAM_ID"] == "ZZZZZ99999"
    problem = next(check for check in apple["checks"] if check["status"] == "error")
    assert problem["id"] == "wallet.E016"
    assert problem["detail"] == f"this team id (ZZZZZ99999) does not match your certificate, whose team is {TEAM_ID}"
    signer = next(item for item in apple["credentials"] if item["kind"] == "apple_pass_certificate")
    assert signer["path"] == str(files.signer_cert)
    assert signer["expires_at"] == files.signer.not_valid_after_utc.isoformat()
    assert signer["days_left"] == 365


def test_never_prints_a_secret(apple_configured, settings, tmp_path):
    """Paths and ids, yes; the key's password, the private keys' contents, no."""
    files = apple_configured(key_password=KEY_PASSWORD)
    google_key = new_service_account_key()
    key_file = tmp_path / "google.json"
    info = service_account_info(google_key, "https://oauth2.googleapis.com/token")
    key_file.write_text(json.dumps(info))
    settings.LOYALTY_GOOGLE_ISSUER_ID = ISSUER_ID
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(key_file)

    text, error = _doctor()
    as_json, _ = _doctor("--json")
    assert error is None
    for out in (text, as_json):
        assert "LOYALTY_APPLE_SIGNER_KEY_PASSWORD" in out and "(set)" in out
        assert KEY_PASSWORD not in out
        assert "PRIVATE KEY" not in out
        assert info["private_key"].splitlines()[1] not in out
        assert info["private_key_id"] not in out
        assert files.signer_key.read_text().splitlines()[1] not in out
        assert str(key_file) in out and info["client_email"] in out


def test_the_doctor_runs_even_when_the_system_checks_fail(apple_configured):
    """``runserver`` stops at the first error; the doctor is where that error gets explained."""
    apple_configured(wwdr_unit="Apple Worldwide Developer Relations")
    out, error = _doctor()
    assert error is not None
    assert "is not the G4 intermediate" in out


@pytest.mark.parametrize(("pass_type_id", "exit_status"), [(PASS_TYPE_ID, 0), ("pass.com.example.other", 1)])
def test_exit_status_of_the_command(tmp_path, keys, pass_type_id, exit_status):
    files = write_chain(tmp_path / "chain", keys)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LOYALTY_", "DATABASE_URL"))}
    env.update(
        DEBUG="true", SQLITE_PATH=str(tmp_path / "db.sqlite3"), SITE_URL="https://loyalty.example.com",
        LOYALTY_APPLE_PASS_TYPE_ID=pass_type_id, LOYALTY_APPLE_TEAM_ID=TEAM_ID,
        LOYALTY_APPLE_SIGNER_CERT_PATH=str(files.signer_cert), LOYALTY_APPLE_SIGNER_KEY_PATH=str(files.signer_key),
        LOYALTY_APPLE_WWDR_CERT_PATH=str(files.wwdr_cert),
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "wallet_doctor", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == exit_status, result.stderr
    assert json.loads(result.stdout)["ok"] is (exit_status == 0)
