"""The config API's cheap path: one query for the flow, and a 304 without rebuilding the configuration.

:func:`load_flow` fetches the flow, its assistant, whether the calling token may read it, and a *fingerprint*
of everything ``cutover.serving.flow_config()`` depends on (the flow row, the assistant's name and ids, the
flow's rollout: production and candidate versions, percent, when it last changed, and when those versions were
approved) in one SQL statement. Prompt versions are immutable, so their ids stand for their configuration. Each web process remembers,
per fingerprint and subject, the ETag and version number it last served; while the fingerprint is unchanged
the client's ``If-None-Match`` is answered 304 without any further query. Any change to those inputs changes
the fingerprint, so a label move is still seen on the very next request in every process.

Whoever makes ``flow_config()`` depend on more state (a rollout table, say) adds it to :data:`ANNOTATIONS`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from migrator.core.models import Flow

MAX_ENTRIES = 4096
_memo: OrderedDict[tuple, tuple[str, int | None, dict | None]] = OrderedDict()  # key -> (etag, version, body)
_lock = threading.Lock()


# The fingerprint's rollout inputs, in the order load_flow's statement selects them (r = the flow's rollout,
# p / c = its production and candidate versions).
ANNOTATIONS = ("_fp_production", "_fp_candidate", "_fp_production_release", "_fp_candidate_release", "_fp_percent",
               "_fp_rollout_changed", "_fp_production_approved", "_fp_candidate_approved")
_ROLLOUT_COLUMNS = ("r.production_id", "r.candidate_id", "r.production_release_id", "r.candidate_release_id",
                    "r.percent", "r.updated_at", "p.approved_at", "c.approved_at")


@dataclass(frozen=True)
class _Statement:
    sql: str
    flow_fields: list[str]
    assistant_fields: list[str]


_statements: dict[str, _Statement] = {}


def _statement(vendor: str) -> _Statement:
    """The one statement, written once per process (per database vendor): the calling token, and the flow by
    slug with its assistant, its rollout and the rollout's two versions by LEFT JOIN, plus the token's flow
    scope by two indexed EXISTS. Built from the models' own table and column names, so it follows migrations;
    building and compiling the equivalent ORM query cost more than running it, on every request."""
    found = _statements.get(vendor)
    if found is not None:
        return found
    from django.db import connection

    from migrator.core.models import Assistant
    from migrator.cutover.models import FlowRollout
    from migrator.flows.models import ApiToken
    from migrator.prompts.models import PromptVersion

    q = connection.ops.quote_name
    flow_fields = [f for f in Flow._meta.concrete_fields]
    assistant_fields = [f for f in Assistant._meta.concrete_fields]
    through = ApiToken.flows.through
    rollout = {f.name: f.column for f in FlowRollout._meta.concrete_fields}
    columns = ([f"f.{q(f.column)}" for f in flow_fields] + [f"a.{q(f.column)}" for f in assistant_fields]
               + [f"r.{q(rollout[c.split('.')[1].removesuffix('_id')])}" if c.startswith("r.") else
                  f"{c[0]}.{q('approved_at')}" for c in _ROLLOUT_COLUMNS])
    scoped = f"EXISTS (SELECT 1 FROM {q(through._meta.db_table)} s WHERE s.{q('apitoken_id')} = t.{q('id')})"
    allowed = (f"EXISTS (SELECT 1 FROM {q(through._meta.db_table)} s WHERE s.{q('apitoken_id')} = t.{q('id')} "
               f"AND s.{q('flow_id')} = f.{q('id')})")
    sql = (
        f"SELECT t.{q('revoked_at')}, {scoped}, {allowed}, f.{q('id')}, {', '.join(columns)} "
        f"FROM {q(ApiToken._meta.db_table)} t "
        f"LEFT JOIN {q(Flow._meta.db_table)} f ON f.{q('slug')} = %s "
        f"LEFT JOIN {q(Assistant._meta.db_table)} a ON a.{q('id')} = f.{q(Flow._meta.get_field('assistant').column)} "
        f"LEFT JOIN {q(FlowRollout._meta.db_table)} r ON r.{q(rollout['flow'])} = f.{q('id')} "
        f"LEFT JOIN {q(PromptVersion._meta.db_table)} p ON p.{q('id')} = r.{q(rollout['production'])} "
        f"LEFT JOIN {q(PromptVersion._meta.db_table)} c ON c.{q('id')} = r.{q(rollout['candidate'])} "
        f"WHERE t.{q('id')} = %s"
    )
    found = _Statement(sql, [f.attname for f in flow_fields], [f.attname for f in assistant_fields])
    _statements[vendor] = found
    return found


class TokenGone(Exception):
    """The calling token was revoked or deleted since this process last checked it (see tokens.authenticate)."""


def load_flow(slug: str, token_id: int) -> Flow | None:
    """The flow with its assistant, the token's scope on it and the fingerprint inputs, in one statement; None
    if there is no such flow. Raises :class:`TokenGone` when the token is revoked or deleted: the statement
    re-reads it, so a token check remembered by this process never outlives a revocation."""
    from django.db import connection

    from migrator.core.models import Assistant

    statement = _statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [slug, token_id])
        row = cursor.fetchone()
    if row is None or row[0] is not None:
        raise TokenGone(token_id)
    scoped, allowed, flow_id = bool(row[1]), bool(row[2]), row[3]
    if flow_id is None:
        return None
    values = list(row[4:])
    n_flow, n_assistant = len(statement.flow_fields), len(statement.assistant_fields)
    db = connection.alias
    flow = Flow.from_db(db, statement.flow_fields, _converted(Flow, statement.flow_fields, values[:n_flow]))
    assistant = Assistant.from_db(db, statement.assistant_fields, _converted(
        Assistant, statement.assistant_fields, values[n_flow:n_flow + n_assistant]))
    Flow.assistant.field.set_cached_value(flow, assistant)
    for name, value in zip(ANNOTATIONS, values[n_flow + n_assistant:], strict=True):
        setattr(flow, name, value)
    flow._token_scoped, flow._token_allowed_here = scoped, allowed
    return flow


def _converted(model, attnames: list[str], values: list) -> list:
    """Database values as the ORM would give them (JSON text parsed, SQLite's datetimes and decimals typed)."""
    from django.db import connection

    out = []
    for attname, value in zip(attnames, values, strict=True):
        field = _field_by_attname(model, attname)
        for converter in _converters(field, connection):
            value = converter(value, field, connection)
        out.append(value)
    return out


_field_cache: dict[tuple, Any] = {}


def _field_by_attname(model, attname: str):
    key = (model, attname)
    if key not in _field_cache:
        _field_cache[key] = next(f for f in model._meta.concrete_fields if f.attname == attname)
    return _field_cache[key]


_converter_cache: dict[tuple, list] = {}


def _converters(field, connection) -> list:
    key = (connection.vendor, field.model, field.attname)
    found = _converter_cache.get(key)
    if found is None:
        expression = field.get_col(field.model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        _converter_cache[key] = found
    return found


def token_may_read(flow: Flow) -> bool:
    return not flow._token_scoped or flow._token_allowed_here


def fingerprint(flow: Flow, subject: str = "") -> tuple:
    assistant = flow.assistant
    own = [getattr(flow, f.attname) for f in Flow._meta.concrete_fields]
    state = [own, assistant.pk, assistant.legacy_id, assistant.name, assistant.updated_at,
             [getattr(flow, name) for name in ANNOTATIONS], subject]
    # JSON columns (dicts) are not hashable: the canonical JSON of the whole state is the key.
    return (flow.pk, hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest())


def remembered(key: tuple) -> tuple[str, int | None, dict | None] | None:
    with _lock:
        found = _memo.get(key)
        if found is not None:
            _memo.move_to_end(key)
        return found


def remember(key: tuple, etag: str, version: int | None, body: dict | None = None) -> None:
    """Remember the answer for a fingerprint; the body is shared by later 200s, which never modify it."""
    with _lock:
        _memo[key] = (etag, version, body)
        _memo.move_to_end(key)
        while len(_memo) > MAX_ENTRIES:
            _memo.popitem(last=False)


def forget_all() -> None:
    from migrator.flows.services.tokens import forget_verified

    with _lock:
        _memo.clear()
    forget_verified()


def served_version_number(body: dict) -> int | None:
    version = body.get("version") or {}
    number = version.get("number")
    return number if isinstance(number, int) else None
