"""The project's foundation: settings, migrations, deploy checks, demo data."""

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, Merchant, Program, Store
from staff.models import Membership, StaffPin

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SITE_URL = "https://loyalty.example.com"


def _settings_in_subprocess(env_overrides: dict, expression: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "CACHE_URL")}
    env.update(env_overrides)
    code = f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','loyalty_site.settings'); django.setup(); from django.conf import settings; print(repr(({expression},)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_embedded_default_is_sqlite_in_wal_with_immediate_transactions(tmp_path):
    out = _settings_in_subprocess(
        {"SQLITE_PATH": str(tmp_path / "x.sqlite3")},
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['OPTIONS']['transaction_mode'], settings.DEBUG",
    )
    assert out == "('django.db.backends.sqlite3', 'IMMEDIATE', True)"
    journal = _settings_in_subprocess(
        {"SQLITE_PATH": str(tmp_path / "x.sqlite3")},
        "__import__('django.db').db.connection.cursor().execute('PRAGMA journal_mode').fetchone()[0]",
    )
    assert journal == "('wal',)"


def test_database_url_switches_to_postgresql_and_debug_off():
    out = _settings_in_subprocess(
        {
            "DATABASE_URL": "postgres://u:p@db.example:5433/loyalty",
            "SECRET_KEY": "x" * 50,
            "CACHE_URL": "redis://cache.example:6379/1",
            "LOYALTY_PIN_LOOKUP_KEY": "y" * 50,
            "SITE_URL": PRODUCTION_SITE_URL,
        },
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'], settings.DATABASES['default']['PORT'], settings.DEBUG",
    )
    assert out == "('django.db.backends.postgresql', 'db.example', 5433, False)"


def test_production_requires_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env["DEBUG"] = "false"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_requires_a_cache_url(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    env.update({"DEBUG": "false", "SECRET_KEY": "x" * 50, "SQLITE_PATH": str(tmp_path / "x.sqlite3")})
    env["SITE_URL"] = PRODUCTION_SITE_URL
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "loyalty_site.settings"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ImproperlyConfigured: CACHE_URL is required when DEBUG=false" in result.stderr


def test_an_explicit_per_process_cache_is_accepted_with_a_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DEBUG="false", SECRET_KEY="x" * 50, LOYALTY_PIN_LOOKUP_KEY="y" * 50, SQLITE_PATH=str(tmp_path / "x.sqlite3"),
        CACHE_URL="locmemcache://", SITE_URL=PRODUCTION_SITE_URL,
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "loyalty_site.W001" in result.stderr + result.stdout
    assert "counted per process" in result.stderr + result.stdout


@pytest.mark.parametrize("missing", [None, ""], ids=["unset", "empty"])
def test_production_requires_a_pin_lookup_key_of_its_own(missing):
    """The PIN lookup key no longer follows SECRET_KEY, whose rotation would have broken every PIN."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOYALTY_PIN_LOOKUP_KEY")}
    env.update({"DEBUG": "false", "SECRET_KEY": "a-production-like-secret-key-with-enough-entropy-9f8e7d6c5b4a3"})
    env["CACHE_URL"] = "redis://cache.example:6379/1"  # not reached: settings make no connection
    env["SITE_URL"] = PRODUCTION_SITE_URL
    if missing is not None:
        env["LOYALTY_PIN_LOOKUP_KEY"] = missing
    importing = [sys.executable, "-c", "import loyalty_site.settings"]
    result = subprocess.run(importing, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the LOYALTY_PIN_LOOKUP_KEY environment variable" in result.stderr


def _production_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SITE_URL", "ALLOW_INSECURE_SITE_URL")}
    env.update(
        DEBUG="false", SECRET_KEY="a-production-like-secret-key-with-enough-entropy-9f8e7d6c5b4a3",
        CACHE_URL="redis://cache.example:6379/1", LOYALTY_PIN_LOOKUP_KEY="y" * 50,
    )  # fmt: skip
    env.update(overrides)
    return env


@pytest.mark.parametrize(
    ("site_url", "message"),
    [
        (None, "ImproperlyConfigured: SITE_URL is required when DEBUG=false"),
        ("", "ImproperlyConfigured: SITE_URL is required when DEBUG=false"),
        ("http://loyalty.example.com", "ImproperlyConfigured: SITE_URL must start with https:// when DEBUG=false"),
        ("loyalty.example.com", "ImproperlyConfigured: SITE_URL must be the site's public address"),
    ],
    ids=["unset", "empty", "http", "no-scheme"],
)
def test_production_refuses_to_start_without_an_https_site_url(site_url, message):
    """Every pass signed with a wrong SITE_URL keeps it for good: the process does not start, and says why."""
    env = _production_env() if site_url is None else _production_env(SITE_URL=site_url)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert message in result.stderr
    if site_url == "http://loyalty.example.com":
        assert "ALLOW_INSECURE_SITE_URL=true" in result.stderr  # the escape hatch is named, for a laptop run


def test_an_insecure_site_url_is_accepted_when_allowed_explicitly():
    out = _settings_in_subprocess(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "CACHE_URL": "locmemcache://",
            "LOYALTY_PIN_LOOKUP_KEY": "y" * 50,
            "SITE_URL": "http://127.0.0.1:8100/",
            "ALLOW_INSECURE_SITE_URL": "true",
        },
        "settings.SITE_URL, settings.ALLOW_INSECURE_SITE_URL, settings.DEBUG",
    )
    assert out == "('http://127.0.0.1:8100', True, False)"


def test_check_deploy_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-production-like-secret-key-with-enough-entropy-9f8e7d6c5b4a3",
            "CACHE_URL": "redis://cache.example:6379/1",  # not reached: checks make no connection
            "LOYALTY_PIN_LOOKUP_KEY": "a-production-like-pin-lookup-key-with-enough-entropy-1a2b3c4d5e",
            "ALLOWED_HOSTS": "loyalty.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://loyalty.example.com",
            "SITE_URL": PRODUCTION_SITE_URL,
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout


@pytest.mark.django_db
def test_migrations_are_complete():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_demo_data_is_idempotent_and_complete(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("loyalty_demo", "--json", stdout=out)
    first = json.loads(out.getvalue())
    counts = [Merchant.objects.count(), Store.objects.count(), Customer.objects.count(), LoyaltyCard.objects.count(),
              LoyaltyTransaction.objects.count(), StaffPin.objects.count(), Membership.objects.count()]
    call_command("loyalty_demo", stdout=StringIO())
    assert counts == [Merchant.objects.count(), Store.objects.count(), Customer.objects.count(),
                      LoyaltyCard.objects.count(), LoyaltyTransaction.objects.count(), StaffPin.objects.count(),
                      Membership.objects.count()]

    assert set(Store.objects.values_list("code", flat=True)) == {"demo-center", "demo-station", "other-bakery"}
    cafe = Program.objects.get(merchant__slug="demo-cafe")
    assert (cafe.loyalty_type, cafe.stamps_target, cafe.points_per_euro, cafe.require_staff_pin) == ("hybrid", 10, 10, True)
    assert cafe.rewards.count() >= 2
    assert Program.objects.get(merchant__slug="other-bakery").loyalty_type == "stamps"
    assert LoyaltyCard.objects.filter(merchant__slug="demo-cafe").count() >= 9
    assert LoyaltyCard.objects.count() >= 12
    roles = {login["username"]: login["role"] for login in first["logins"]}
    assert roles["cafe-owner"] == "owner" and roles["cafe-manager"] == "manager" and roles["cafe-staff"] == "staff"
    assert {pin["store"] for pin in first["pins"]} == {"demo-center", "demo-station", "other-bakery"}


@pytest.mark.django_db
def test_demo_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("loyalty_demo", stdout=StringIO())


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
@pytest.mark.parametrize(
    ("arguments", "environment", "env_file", "expected"),
    [
        (["PORT=8100"], {}, "", "SITE_URL=http://127.0.0.1:8100 "),
        (["HOST=192.168.1.20", "PORT=8100"], {}, "", "SITE_URL=http://192.168.1.20:8100 "),
        (["PORT=8100"], {"SITE_URL": "https://tunnel.example.com"}, "", None),
        (["PORT=8100", "SITE_URL=https://tunnel.example.com"], {}, "", None),
        (["PORT=8100"], {}, "DEBUG=true\nSITE_URL=https://tunnel.example.com\n", None),
    ],
    ids=["port", "host-and-port", "from-environment", "from-command-line", "from-env-file"],
)
def test_make_run_links_follow_host_and_port_unless_site_url_is_set(
    tmp_path, arguments, environment, env_file, expected
):
    """`make run PORT=8100` served on 8100 while every link still said 8000."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.txt", "requirements-dev.txt"):
        (tmp_path / name).touch()
    if env_file:
        (tmp_path / ".env").write_text(env_file)
    env = {key: value for key, value in os.environ.items() if key != "SITE_URL"} | environment
    result = subprocess.run(
        ["make", "--dry-run", "run", *arguments], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if "manage.py runserver" in line or "loyalty_demo" in line]
    assert len(commands) == 2
    for command in commands:
        if expected is None:
            assert "SITE_URL=" not in command  # the settings read it from the environment or .env
        else:
            assert command.startswith(expected)
