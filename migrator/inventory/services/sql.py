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


def update_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """UPDATE … SET names… WHERE pk = last value of each row."""
    fields = _fields(model, names)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    pk = connection.ops.quote_name(model._meta.pk.column)
    sql = f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {sets} WHERE {pk} = %s"
    params = [[*(f.get_db_prep_save(v, connection) for f, v in zip(fields, row[:-1], strict=True)), row[-1]]
              for row in rows]
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
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
