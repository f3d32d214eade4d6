"""Hand-written statements of the hottest paths, prepared once per connection on PostgreSQL.

The till's token check, its card lookup, a stamp's and an earn's statements
and a pass's one read run on every request of their kind. Django binds
parameters on the client and never prepares, so PostgreSQL plans each of
them again every time (0.3–1 ms for the joined ones, more than running them)
and each call also pays for a new cursor and Django's wrappers around it.
:func:`prepared_fetch_one`, :func:`prepared_fetch_all` and :func:`prepared_execute` send such a
statement as a protocol-level prepared statement (psycopg names it and keeps
it per connection, and prepares it again on a new connection) through one
cursor kept per connection.

What Django's own cursor does around a statement is kept: the connection's
health check and (re)connection, the broken-transaction check, the thread
check and Django's exceptions (``wrap_database_errors``). The health check
(``CONN_HEALTH_CHECKS``) costs a ``SELECT 1`` before a request's first
statement; a read outside a transaction is its own check instead: if it
finds the connection dead, a new one is opened and the read runs again, as
it would have after a failed check (a write is never run twice). When queries are
being logged or an execute wrapper is installed (tests counting queries,
``DEBUG``, ``connection.execute_wrapper``), the statement goes through a
cursor Django wraps as usual, logged with its parameters inlined so that it
can be read and explained.

Django's own statements are still never prepared, which keeps
transaction-pooling proxies working for them; these few are, which
PgBouncer 1.21+ handles (``max_prepared_statements``). Elsewhere (SQLite)
they use a plain cursor.
"""

from functools import cache

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.backends.utils import CursorDebugWrapper

# Django turns psycopg's automatic preparing off (None) for a whole connection. Its own cursors bind on the
# client and never prepare; a threshold no statement reaches lets only ``prepare=True`` through.
NEVER_AUTOMATICALLY = 2**31 - 1


def prepared_fetch_one(sql: str, params, *, connection=None, binary: bool = False) -> tuple | None:
    """The first row of ``sql`` with ``params`` (``%s`` placeholders), or None.

    ``binary``: rows in PostgreSQL's binary format, which psycopg reads without parsing text (~40 µs
    less per row of a dozen numbers and times). Only for columns Django reads with psycopg's own
    loaders: not ``jsonb``, ``inet`` or ``cidr``, which Django reads as text.
    """
    return _run(sql, params, connection or connections[DEFAULT_DB_ALIAS], binary, _fetch_one, read=True)


def prepared_fetch_all(sql: str, params, *, connection=None, binary: bool = False) -> list[tuple]:
    return _run(sql, params, connection or connections[DEFAULT_DB_ALIAS], binary, _fetch_all, read=True)


def prepared_execute(sql: str, params, *, connection=None) -> int:
    """Run a statement that returns no rows (``UPDATE``, ``INSERT``); the number of rows it changed."""
    return _run(sql, params, connection or connections[DEFAULT_DB_ALIAS], False, _row_count, read=False)


def _fetch_one(cursor):
    return cursor.fetchone()


def _fetch_all(cursor):
    return cursor.fetchall()


def _row_count(cursor):
    return cursor.rowcount


def prepared_row_exists(model, field_name: str, value, *, connection=None) -> bool:
    """``model.objects.filter(**{field_name: value}).exists()`` as one prepared statement.

    For the reads that follow every till operation ("is this card in Apple Wallet? in Google
    Wallet?"), where building the ORM query costs more than the indexed lookup.
    """
    connection = connection or connections[DEFAULT_DB_ALIAS]
    statement = _exists_statement(model, field_name, connection.vendor)
    return prepared_fetch_one(statement, [value], connection=connection) is not None


@cache
def _exists_statement(model, field_name: str, vendor: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name  # the same for every connection of a vendor
    column = model._meta.get_field(field_name).column
    return f"SELECT 1 FROM {quote(model._meta.db_table)} WHERE {quote(column)} = %s LIMIT 1"


def _run(sql, params, connection, binary, result, *, read: bool):
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return result(cursor)
    if connection.queries_logged or connection.execute_wrappers:
        with _wrapped_cursor(connection) as cursor:
            cursor.execute(sql, params)
            return result(cursor)
    # What connection.cursor() and CursorWrapper.execute do, without a new cursor and its wrappers each time.
    # A read outside a transaction is its own health check (below): the first statement of a till request,
    # the token check, costs no extra SELECT 1.
    is_first_read = (
        read
        and connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if is_first_read:
        connection.health_check_done = True
    else:
        connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    try:
        return _execute_kept(connection, sql, params, binary, result)
    except (OperationalError, InterfaceError):
        if not is_first_read or connection.is_usable():
            raise
    # The connection was dead (the server restarted, a proxy dropped it): what the health check would have
    # found. Open a new one and read again, as the check would have let this read run on a new connection.
    connection.close()
    connection.ensure_connection()
    return _execute_kept(connection, sql, params, binary, result)


def _execute_kept(connection, sql, params, binary, result):
    with connection.wrap_database_errors:
        cursor = _kept_cursor(connection)
        cursor.execute(sql, params, binary=binary)
        return result(cursor)


def _kept_cursor(connection):
    """One prepared-statement cursor per open connection (a new connection gets a new one)."""
    kept = getattr(connection, "_loyalty_prepared_cursor", None)
    if kept is None or kept.connection is not connection.connection or kept.closed:
        kept = connection._loyalty_prepared_cursor = _prepared_cursor(connection.connection)
    return kept


def _wrapped_cursor(connection):
    """A prepared-statement cursor wrapped as Django wraps its own: logged, counted, Django's errors."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = _prepared_cursor(connection.connection)
    if connection.queries_logged:
        return _InlinedDebugWrapper(raw, connection)
    return connection.make_cursor(raw)


def _prepared_cursor(raw_connection):
    """A psycopg cursor of ``raw_connection`` whose statements are prepared."""
    if raw_connection.prepare_threshold is None:
        raw_connection.prepare_threshold = NEVER_AUTOMATICALLY
    return _prepared_cursor_class()(raw_connection)


class _InlinedDebugWrapper(CursorDebugWrapper):
    """Logs a prepared statement with its parameters inlined, as Django logs its client-bound ones
    (``last_executed_query`` has no text for a prepared statement)."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        if use_last_executed_query and not many:
            sql, use_last_executed_query = self.db.ops.compose_sql(sql, params), False
        return super().debug_sql(sql, params, use_last_executed_query, many)


@cache
def _prepared_cursor_class():
    import psycopg  # only on PostgreSQL

    class PreparedCursor(psycopg.Cursor):
        def execute(self, query, params=None, **options):
            options.setdefault("prepare", True)
            return super().execute(query, params, **options)

    return PreparedCursor
