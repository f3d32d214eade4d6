"""The bench's own database and Django settings, shared by every bench process.

The bench runs against PostgreSQL with production-like settings (DEBUG off,
so Django keeps no query log; Redis as the cache when it answers, else an
explicit per-process local-memory cache), in its own
database so it never touches the development or test data. Child processes
(gunicorn, the load generator, the export probe) inherit the environment
that :func:`configure` sets.
"""

import os

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench"
# BENCH_CACHE_URL (from the shell): the bench's Redis; it is never flushed (only throttle counters go there).
DEFAULT_CACHE_URL = os.environ.get("BENCH_CACHE_URL") or "redis://127.0.0.1:6379/13"


def _redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def configure(database_url: str = DEFAULT_DATABASE_URL, *, cache_url: str | None = DEFAULT_CACHE_URL) -> dict:
    """Set the environment every bench process runs with; returns what was set (for the report)."""
    values = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-never-used-in-production-0123456789",
        "LOYALTY_PIN_LOOKUP_KEY": "bench-only-pin-lookup-key-never-used-in-production-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        # Throttles stay on (they cost what they cost in production) with limits the load never reaches.
        "THROTTLE_SCAN": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    # DEBUG off requires an explicit cache. Without Redis the bench's gunicorn workers each count
    # throttles on their own, which the load (far below every limit) never notices.
    values["CACHE_URL"] = cache_url if cache_url and _redis_answers(cache_url) else "locmemcache://"
    values.update(_apple_wallet_env())
    os.environ.update(values)
    # No broker: the till cards have no wallet devices, so nothing is enqueued; Apple Wallet
    # is on, so every operation pays for recording the pass change, as in production.
    os.environ.pop("CELERY_BROKER_URL", None)
    return values


def _apple_wallet_env() -> dict:
    """Apple Wallet on, signed with development certificates made once under var/bench-wallet."""
    from pathlib import Path

    from wallet.apple.dev_certs import dev_certs_generate

    directory = Path(__file__).resolve().parent.parent / "var" / "bench-wallet"
    certificates = dev_certs_generate(directory=directory)
    return {
        "LOYALTY_APPLE_PASS_TYPE_ID": "pass.dev.loyalty.local",
        "LOYALTY_APPLE_TEAM_ID": "DEVTEAM001",
        "LOYALTY_APPLE_SIGNER_CERT_PATH": str(certificates.signer_cert),
        "LOYALTY_APPLE_SIGNER_KEY_PATH": str(certificates.signer_key),
        "LOYALTY_APPLE_WWDR_CERT_PATH": str(certificates.wwdr_cert),
        "SITE_URL": "http://127.0.0.1:8000",
        # DEBUG is off, so an http:// SITE_URL needs saying; Apple Wallet stays on because these are
        # development certificates (with Apple's, an http:// SITE_URL keeps it off).
        "ALLOW_INSECURE_SITE_URL": "true",
    }


def setup_django(database_url: str | None = None) -> None:
    if "DJANGO_SETTINGS_MODULE" not in os.environ or database_url:
        configure(database_url or DEFAULT_DATABASE_URL)
    import django

    django.setup()


def _administer(database_url: str, *statements: str) -> None:
    """Run ``statements`` (``{name}`` = the database's name) on the server's ``postgres`` database."""
    import psycopg

    dsn = database_url.replace("postgres://", "postgresql://", 1)
    name = dsn.rsplit("/", 1)[1]
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"bench: refusing database name {name!r}")
    admin_dsn = dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.format(name=name))


def recreate_database(database_url: str) -> None:
    """Drop and create the bench database (it holds nothing but bench data)."""
    _administer(database_url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    _administer(database_url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
