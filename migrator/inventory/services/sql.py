"""Two batch writers for the hot paths of a large import, where the ORM's per-object SQL compilation costs
more than the database work itself: ``executemany`` INSERTs and keyed UPDATEs.

Values still go through each field's ``get_db_prep_save``, so JSON, dates and times are stored exactly as the
ORM would store them, on SQLite and PostgreSQL alike. Callers run them inside their own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in names]


ROWS_PER_INSERT = 400  # x columns stays far below SQLite's 32,766 and PostgreSQL's 65,535 parameters


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT rows (values in the order of ``names``; FK fields by their ``*_id`` value), several hundred rows
    per statement so a remote database costs one round trip per statement, not per row."""
    fields = _fields(model, names)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    if connection.vendor == "postgresql":
        return _copy_rows(model, fields, columns, rows)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES "
    count = 0
    batch: list[Any] = []
    in_batch = 0
    with connection.cursor() as cursor:
        for row in rows:
            batch.extend(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True))
            in_batch += 1
            if in_batch == ROWS_PER_INSERT:
                cursor.execute(head + ", ".join([one] * in_batch), batch)
                count += in_batch
                batch, in_batch = [], 0
        if in_batch:
            cursor.execute(head + ", ".join([one] * in_batch), batch)
            count += in_batch
    return count


def relaxed_commit() -> None:
    """Let the current transaction's COMMIT return before its WAL reaches the disk (PostgreSQL only).

    A large import commits hundreds of batches, and waiting for each one's WAL flush was a tenth of its
    time. Nothing is lost that anyone was told about: the import's closing writes (thread figures, usage,
    the audit row, the job's result) commit synchronously, and a synchronous commit flushes all WAL before
    it, so once an import reports it is done its batches are on disk. A server crash in the middle loses at
    most the last fraction of a second of batches of an import that then fails, and importing again fills
    them in (imports are idempotent). Only a batch that is its own transaction is relaxed: inside someone
    else's, SET LOCAL would outlive the batch and make that caller's commit asynchronous too."""
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


ROWS_PER_UPDATE = 500


def update_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """UPDATE … SET names… WHERE pk = last value of each row.

    On PostgreSQL, one ``UPDATE … FROM (VALUES …)`` per 500 rows: Django's client-side binding sends every
    statement as new SQL text, so 20,000 single-row UPDATEs cost 20,000 parses and plans on the server (and
    as much quoting in Python). Elsewhere, one keyed UPDATE per row with ``executemany``."""
    fields = _fields(model, names)
    pk_field = model._meta.pk
    params = [[*(f.get_db_prep_save(v, connection) for f, v in zip(fields, row[:-1], strict=True)), row[-1]]
              for row in rows]
    if not params:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Each placeholder cast to its column's type: VALUES would otherwise guess text for every column.
            casts = [f.cast_db_type(connection) for f in fields] + [pk_field.cast_db_type(connection)]
            one = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
            names_sql = ", ".join(f"c{i}" for i in range(len(fields)))
            sets = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(fields))
            for start in range(0, len(params), ROWS_PER_UPDATE):
                chunk = params[start : start + ROWS_PER_UPDATE]
                cursor.execute(
                    f"UPDATE {table} AS t SET {sets} FROM (VALUES {', '.join([one] * len(chunk))}) "
                    f"AS v({names_sql}, pk) WHERE t.{quote(pk_field.column)} = v.pk",
                    [value for row in chunk for value in row],
                )
            return len(params)
        sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {quote(pk_field.column)} = %s", params)
    return len(params)


def _copy_rows(model: type[models.Model], fields: list[models.Field], columns: str,
               rows: Iterable[Sequence[Any]]) -> int:
    """PostgreSQL: COPY … FROM STDIN, the fastest way in (psycopg 3 adapts each value, JSON included)."""
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        table = connection.ops.quote_name(model._meta.db_table)
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)])
                count += 1
    return count


def create_objects(model: type[models.Model], objs: Sequence[models.Model], *, key: str = "") -> None:
    """``bulk_create`` for the importer's new rows. On PostgreSQL, ``COPY``: Django's bulk INSERT sends each
    column as one array parameter, which client-side binding quotes in Python value by value (the largest
    single cost of writing threads and runs). COPY returns no ids, so with ``key`` (a unique column) the new
    pks are read back and set on the objects, as bulk_create would. Elsewhere, bulk_create itself."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=200)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # pre_save() fills auto_now/auto_now_add on the objects, as bulk_create does.
    _copy_rows(model, fields, columns, ([f.pre_save(obj, True) for f in fields] for obj in objs))
    if key:
        pks = dict(model._default_manager.filter(**{f"{key}__in": [getattr(o, key) for o in objs]})
                   .values_list(key, "pk"))
        for obj in objs:
            obj.pk = pks[getattr(obj, key)]
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_prepared(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Like :func:`insert_rows` for rows already in database form: JSON columns as JSON text, FKs as ids,
    datetimes aware. Skips the per-value ``get_db_prep_save`` calls, the largest Python cost of a big import."""
    fields = _fields(model, names)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        head = f"INSERT INTO {table} ({columns}) VALUES "
        batch: list[Any] = []
        in_batch = 0
        for row in rows:
            batch.extend(row)
            in_batch += 1
            if in_batch == ROWS_PER_INSERT:
                cursor.execute(head + ", ".join([one] * in_batch), batch)
                count += in_batch
                batch, in_batch = [], 0
        if in_batch:
            cursor.execute(head + ", ".join([one] * in_batch), batch)
            count += in_batch
    return count
