"""Model rows read and written with hand-written SQL, for the till's hottest statements.

The ORM spends most of a till operation's time building SQL and model rows
(README "Performance"). The few statements every stamp and earn runs are
written out instead, and these helpers keep what the ORM would have done:
values converted as the backend's ORM converters do (booleans and times on
SQLite), datetimes adapted as query parameters, and rows returned as model
instances as ``Model.from_db`` returns them, so that the code around them does
not know the difference. Statements are built once per process from the models'
``_meta``; the ORM version of each operation stays beside its SQL one, and
the same tests run against both.
"""

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from loyalty_site.db import prepared_execute, prepared_fetch_one


def database():
    """The default connection itself: the ``connection`` proxy costs a lookup on every attribute, many per row."""
    return connections[DEFAULT_DB_ALIAS]


@cache
def _column_list(model, names: tuple[str, ...], alias: str, vendor: str) -> str:
    return ", ".join(f"{alias}.{connection.ops.quote_name(model._meta.get_field(name).column)}" for name in names)


def column_list(model, names: tuple[str, ...], alias: str) -> str:
    """``alias.col1, alias.col2, …`` for the fields (by attname) ``names`` of ``model``."""
    return _column_list(model, names, alias, connection.vendor)


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _converters(model, names: tuple[str, ...], vendor: str) -> tuple:
    converters = []
    for index, name in enumerate(names):
        column = model._meta.get_field(name).get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((index, tuple(functions), column))
    return tuple(converters)


def row_instance(model, names: tuple[str, ...], values, **known):
    """A ``model`` instance from the columns ``names`` of a row (the others deferred), converted as the ORM does.

    ``known`` sets fields the statement checked without reading them (``is_active=True``).
    """
    db = database()
    values = list(values)
    for index, functions, column in _converters(model, names, db.vendor):
        value = values[index]
        for function in functions:
            value = function(value, column, db)
        values[index] = value
    data = dict(zip(names, values, strict=True)) | known
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        present = [field.attname for field in model._meta.concrete_fields if field.attname in data]
        return model.from_db(db.alias, present, [data[name] for name in present])
    # What ``from_db`` makes, without ``Model.__init__`` walking every field to set the few given (~7 µs
    # of a store's row, five rows per token check): a loaded instance whose absent fields are deferred,
    # as Django unpickles one. Only with no pre_init/post_init receiver to skip (none of ours has one).
    instance = model.__new__(model)
    state = instance._state = ModelState()
    state.adding, state.db = False, db.alias
    instance.__dict__.update(data)
    return instance


def datetime_parameter(value):
    """A datetime as the backend takes it in a hand-written statement (a string on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)


def for_update_of(alias: str) -> str:
    """``FOR UPDATE OF alias`` where the database locks rows (PostgreSQL); nothing on SQLite, which locks the file."""
    if not connection.features.has_select_for_update:
        return ""
    return f" FOR UPDATE OF {alias}" if connection.features.has_select_for_update_of else " FOR UPDATE"


@cache
def _update_statement(model, names: tuple[str, ...], vendor: str) -> str:
    assignments = ", ".join(f"{connection.ops.quote_name(model._meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {table(model)} SET {assignments} WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s"


def row_update(instance, names: tuple[str, ...]) -> None:
    """``instance.save(update_fields=names)`` as one hand-written ``UPDATE`` (``auto_now`` fields stamped too)."""
    db = database()
    values = _save_values(instance, names, db, add=False)
    prepared_execute(_update_statement(type(instance), names, db.vendor), [*values, instance.pk], connection=db)


def _save_values(instance, names: tuple[str, ...], db, *, add: bool) -> list:
    """The values of the fields ``names`` as ``save()`` would write them (``auto_now`` stamped)."""
    fields = [instance._meta.get_field(name) for name in names]
    return [field.get_db_prep_save(field.pre_save(instance, add), db) for field in fields]


@cache
def _insert_statement(model, names: tuple[str, ...], vendor: str, returning: bool) -> str:
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in names)
    statement = f"INSERT INTO {table(model)} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
    if returning:
        statement += " RETURNING " + connection.ops.quote_name(model._meta.pk.column)
    return statement


def row_insert(instance, names: tuple[str, ...]) -> None:
    """``instance.save()`` of a new row as one hand-written ``INSERT`` of the fields ``names``; sets its pk."""
    db = database()
    values = _save_values(instance, names, db, add=True)
    returning = db.features.can_return_columns_from_insert
    statement = _insert_statement(type(instance), names, db.vendor, returning)
    if returning:
        instance.pk = prepared_fetch_one(statement, values, connection=db)[0]
    else:
        with db.cursor() as cursor:
            cursor.execute(statement, values)
            instance.pk = db.ops.last_insert_id(cursor, instance._meta.db_table, instance._meta.pk.column)
    instance._state.adding = False
    instance._state.db = db.alias


def row_delete(model, pk) -> int:
    """``model.objects.filter(pk=pk).delete()`` for a row nothing refers to, as one ``DELETE``; rows deleted."""
    db = database()
    return prepared_execute(_delete_statement(model, db.vendor), [pk], connection=db)


@cache
def _delete_statement(model, vendor: str) -> str:
    return f"DELETE FROM {table(model)} WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s"
