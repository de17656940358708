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


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT rows (values in the order of ``names``; FK fields by their ``*_id`` attname)."""
    fields = _fields(model, names)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    params = [[f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)] for row in rows]
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
    return len(params)


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
