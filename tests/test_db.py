"""The prepared statements of the hot paths (loyalty_site/db.py): what Django's cursor guarantees still holds."""

import psycopg
import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from loyalty.models import Merchant
from loyalty_site.db import prepared_execute, prepared_fetch_all, prepared_fetch_one, prepared_row_exists

pytestmark = pytest.mark.django_db

MERCHANT_NAME = "SELECT name FROM loyalty_merchant WHERE id = %s"


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_rows_come_back_as_from_a_cursor():
    first, second = Merchant.objects.create(name="A", slug="a"), Merchant.objects.create(name="B", slug="b")

    assert prepared_fetch_one(MERCHANT_NAME, [first.pk]) == ("A",)
    assert prepared_fetch_one(MERCHANT_NAME, [0]) is None
    assert prepared_fetch_all(
        "SELECT name FROM loyalty_merchant WHERE id IN (%s, %s) ORDER BY name", [second.pk, first.pk]
    ) == [("A",), ("B",)]
    assert prepared_execute("UPDATE loyalty_merchant SET name = %s WHERE id = %s", ["C", first.pk]) == 1
    assert Merchant.objects.get(pk=first.pk).name == "C"


def test_row_exists():
    merchant = Merchant.objects.create(name="A", slug="a")

    assert prepared_row_exists(Merchant, "slug", "a") is True
    assert prepared_row_exists(Merchant, "slug", "b") is False
    assert prepared_row_exists(Merchant, "id", merchant.pk) is True


@pytest.mark.postgres
def test_on_postgresql_the_statement_is_prepared_once_per_connection():
    merchant = Merchant.objects.create(name="A", slug="a")

    for _ in range(3):
        assert prepared_fetch_one(MERCHANT_NAME, [merchant.pk]) == ("A",)

    prepared = [text for text in _prepared_statements() if "FROM loyalty_merchant WHERE id = $1" in text]
    assert len(prepared) == 1  # named once, reused; Django's own statements are not prepared
    assert not any("pg_prepared_statements" in text for text in _prepared_statements())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    merchant = Merchant.objects.create(name="A", slug="a")
    assert prepared_fetch_one(MERCHANT_NAME, [merchant.pk]) == ("A",)

    connection.close()  # as at a request's end past CONN_MAX_AGE, or after a lost connection

    assert prepared_fetch_one(MERCHANT_NAME, [merchant.pk]) == ("A",)


def test_logged_with_its_parameters_inlined_so_it_can_be_read_and_explained():
    merchant = Merchant.objects.create(name="O'Brien's", slug="a")

    with CaptureQueriesContext(connection) as captured:
        assert prepared_fetch_one(MERCHANT_NAME, [merchant.pk]) == ("O'Brien's",)
        prepared_row_exists(Merchant, "slug", "a")

    logged = [query["sql"] for query in captured.captured_queries]
    assert len(logged) == 2
    assert logged[0] == MERCHANT_NAME.replace("%s", str(merchant.pk))
    assert "'a'" in logged[1]
    with connection.cursor() as cursor:  # the logged text runs as is (what bench/reads.py explains)
        cursor.execute(logged[0])
        assert cursor.fetchone() == ("O'Brien's",)


def test_errors_are_djangos_and_roll_back_as_djangos_do():
    with pytest.raises(DatabaseError) as raised, transaction.atomic():
        prepared_fetch_one("SELECT no_such_column FROM loyalty_merchant WHERE id = %s", [1])
    assert type(raised.value).__module__ == "django.db.utils"  # ProgrammingError, OperationalError on SQLite

    with transaction.atomic():
        with pytest.raises(DatabaseError):
            with transaction.atomic():
                prepared_fetch_one("SELECT no_such_column FROM loyalty_merchant WHERE id = %s", [1])
        assert prepared_fetch_one("SELECT 1 WHERE 1 = %s", [1]) == (1,)  # the savepoint was rolled back


@pytest.fixture
def dropped_connection(monkeypatch):
    """A merchant read once on a connection the server then drops (as a restart would); health checks on."""
    merchant = Merchant.objects.create(name="A", slug="a")
    assert prepared_fetch_one(MERCHANT_NAME, [merchant.pk]) == ("A",)
    monkeypatch.setattr(connection, "health_check_enabled", True)
    backend_pid = connection.connection.info.backend_pid
    with psycopg.connect(_dsn(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    return merchant, backend_pid


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_outside_a_transaction_is_the_health_check_and_survives_a_dead_connection(
    dropped_connection, monkeypatch
):
    merchant, backend_pid = dropped_connection
    connection.health_check_done = False  # a new request
    checks = []
    monkeypatch.setattr(type(connections["default"]), "is_usable", lambda self: checks.append(1) or False)

    assert prepared_fetch_one(MERCHANT_NAME, [merchant.pk]) == ("A",)  # read again on a new connection
    assert connection.connection.info.backend_pid != backend_pid
    assert checks == [1]  # asked only once the read had failed, not before it

    connection.health_check_done = False  # the next request on a live connection: no SELECT 1 at all
    assert prepared_fetch_one(MERCHANT_NAME, [merchant.pk]) == ("A",)
    assert checks == [1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_on_a_dead_connection_is_not_run_again(dropped_connection, monkeypatch):
    merchant, _backend_pid = dropped_connection
    monkeypatch.setattr(connection, "health_check_done", True)  # checked already in this request

    with pytest.raises(DatabaseError):
        prepared_execute("UPDATE loyalty_merchant SET name = %s WHERE id = %s", ["B", merchant.pk])

    connection.close()
    assert Merchant.objects.get(pk=merchant.pk).name == "A"


def _dsn() -> str:
    settings = connection.settings_dict
    return f"host={settings['HOST']} port={settings['PORT'] or 5432} user={settings['USER']} dbname={settings['NAME']}"
