"""Ingest of production outcomes and the per-release metrics read from them.

A batch is accepted once per id (``OutcomeBatch``'s unique constraint, in the same transaction as its rows),
so a client that retries after a lost answer never counts twice. Each batch appends its raw rows and adds its
per-minute totals and latency/TTFT histogram counts in SQL (``INSERT … ON CONFLICT DO UPDATE SET n = n + …``,
keys sorted so concurrent batches lock rows in one order and never deadlock). On PostgreSQL the batch is
COPY'd into a per-session staging table and one statement appends the raw rows and aggregates them
(``GROUP BY``) into the per-minute rows, which it locks last: a batch holds the hot rows only from that
statement to its COMMIT. Pages only read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from migrator.core.services import ServiceError
from migrator.rollouts.models import Outcome, OutcomeBatch, OutcomeHistogram, OutcomeMinute
from migrator.validation.pricing import cost_at, price_of

MAX_BATCH = 5000
ROLES = ("production", "candidate", "shadow")
# Latency buckets grow by 10%: bucket b holds [1.1^b - 1, 1.1^(b+1) - 1) ms, so a percentile read from them
# is within 5% of the exact one; 1 ms … 10 min fits in 141 buckets.
GROWTH = 1.1
MAX_BUCKET = 160

MINUTE_SUMS = ("n", "errors", "schema_checked", "schema_invalid", "refusals", "with_tools", "ttft_n", "latency_sum",
               "input_tokens", "output_tokens", "cost_usd", "agreement_n", "agreement_sum")


def bucket_of(ms: float) -> int:
    return max(0, min(MAX_BUCKET, int(math.log(max(ms, 0.0) + 1.0, GROWTH))))


def bucket_value(b: int) -> float:
    """The middle of bucket ``b`` in ms."""
    return (GROWTH ** b + GROWTH ** (b + 1)) / 2 - 1.0


class InvalidOutcomes(ServiceError):
    pass


@dataclass
class IngestResult:
    accepted: int
    duplicate: bool = False


def _num(row: dict[str, Any], key: str, i: int, *, required: bool = False, low: float = 0.0,
         high: float = 86_400_000.0) -> float | None:
    value = row.get(key)
    if value is None:
        if required:
            raise InvalidOutcomes(f"outcomes[{i}].{key} is required (a number).")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidOutcomes(f"outcomes[{i}].{key} must be a number, not {str(value)[:40]!r}.")
    return float(min(max(value, low), high))


def _text(row: dict[str, Any], key: str, i: int, limit: int) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidOutcomes(f"outcomes[{i}].{key} must be a string.")
    return value[:limit]


def _flag(row: dict[str, Any], key: str, i: int) -> bool | None:
    value = row.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidOutcomes(f"outcomes[{i}].{key} must be true, false or null.")


# Raw row columns, in the order ``_rows`` builds them (written with COPY on PostgreSQL).
RAW_COLUMNS = ("flow_id", "release", "role", "minute", "received_at", "model", "latency_ms", "ttft_ms", "error",
               "schema_valid", "refusal", "tool_calls", "input_tokens", "output_tokens", "cost_usd", "agreement")


_ROLES = frozenset(ROLES)
_NUMBER = (int, float)  # type() is compared, so True and False are not numbers here (as in _num)
_INF = math.inf


def _quick(raw: Any) -> tuple | None:
    """The fields of a well-formed outcome, checked and clamped as :func:`_num`, :func:`_text` and :func:`_flag`
    do, in one pass without a call per field; None sends the outcome through the checked path, which names
    what is wrong (or handles the rare shape: a long string, an integer of no float, a missing role)."""
    if type(raw) is not dict:
        return None
    get = raw.get
    release, role, at, latency, ttft = get("release"), get("role"), get("at"), get("latency_ms"), get("ttft_ms")
    model, error, tools, valid, refusal = get("model"), get("error"), get("tool_calls"), get("schema_valid"), \
        get("refusal")
    t_in, t_out, agreement = get("input_tokens"), get("output_tokens"), get("agreement")
    if not (type(release) is str and 0 < len(release) <= 64 and (role is None or role in _ROLES)
            and type(latency) in _NUMBER and -_INF < latency < _INF
            and (at is None or (type(at) in _NUMBER and -_INF < at < _INF))
            and (ttft is None or (type(ttft) in _NUMBER and -_INF < ttft < _INF))
            and (model is None or (type(model) is str and len(model) <= 100))
            and (error is None or (type(error) is str and len(error) <= 100))
            and (valid is None or type(valid) is bool) and (refusal is None or type(refusal) is bool)
            and (t_in is None or (type(t_in) in _NUMBER and -_INF < t_in < _INF))
            and (t_out is None or (type(t_out) in _NUMBER and -_INF < t_out < _INF))
            and (agreement is None or (type(agreement) in _NUMBER and -_INF < agreement < _INF))):
        return None
    if tools:
        if type(tools) is not list or not all(type(t) is str for t in tools):
            return None
        tools = ",".join(tools)[:300]
    else:
        tools = ""
    return (release, role or "production",
            None if at is None else float(min(max(at, 0.0), 4e9)),
            float(min(max(latency, 0.0), 86_400_000.0)),
            None if ttft is None else float(min(max(ttft, 0.0), 86_400_000.0)),
            model or "", error or "", valid, bool(refusal), tools,
            int(float(min(max(t_in, 0.0), 1e9))) if t_in else 0,
            int(float(min(max(t_out, 0.0), 1e9))) if t_out else 0,
            None if agreement is None else float(min(max(agreement, 0.0), 1.0)))


def _checked(raw: Any, i: int) -> tuple:
    """What :func:`_quick` returns, field by field; raises :class:`InvalidOutcomes` naming the bad field."""
    if not isinstance(raw, dict):
        raise InvalidOutcomes(f"outcomes[{i}] must be an object.")
    release = _text(raw, "release", i, 64)
    if not release:
        raise InvalidOutcomes(f"outcomes[{i}].release is required (the release hash that served the call).")
    role = _text(raw, "role", i, 16) or "production"
    if role not in ROLES:
        raise InvalidOutcomes(f"outcomes[{i}].role must be one of {', '.join(ROLES)}, not {role!r}.")
    at = _num(raw, "at", i, low=0, high=4e9)
    tools = raw.get("tool_calls") or []
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise InvalidOutcomes(f"outcomes[{i}].tool_calls must be a list of function names.")
    model = _text(raw, "model", i, 100)
    tokens_in = int(_num(raw, "input_tokens", i, high=1e9) or 0)
    tokens_out = int(_num(raw, "output_tokens", i, high=1e9) or 0)
    latency = _num(raw, "latency_ms", i, required=True)
    return (release, role, at, latency, _num(raw, "ttft_ms", i), model, _text(raw, "error", i, 100),
            _flag(raw, "schema_valid", i), bool(_flag(raw, "refusal", i)), ",".join(tools)[:300], tokens_in,
            tokens_out, _num(raw, "agreement", i, high=1.0))


def _rows(flow_id: int, outcomes: list[Any], now: datetime) -> list[tuple]:
    earliest, latest = (now - timedelta(hours=1)).timestamp(), (now + timedelta(seconds=60)).timestamp()
    rows = []
    append = rows.append
    minutes: dict[float, datetime] = {}
    prices: dict[str, tuple[float, float] | None] = {}
    default_stamp = now.timestamp()
    for i, raw in enumerate(outcomes):
        fields = _quick(raw) or _checked(raw, i)
        release, role, at, latency, ttft, model, error, valid, refusal, tools, tokens_in, tokens_out, agreement = \
            fields
        # A skewed client clock lands in the nearest plausible minute.
        stamp = min(max(at or default_stamp, earliest), latest) // 60 * 60
        minute = minutes.get(stamp)
        if minute is None:
            minute = minutes[stamp] = datetime.fromtimestamp(stamp, UTC)
        if model in prices:
            price = prices[model]
        else:
            price = prices[model] = price_of(model) if model else None
        cost = cost_at(price, tokens_in, tokens_out)  # the price looked up once a model per batch
        append((flow_id, release, role, minute, now, model, latency, ttft, error, valid, refusal, tools, tokens_in,
                tokens_out, cost, agreement))
    return rows


def _aggregate(rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """The batch's per-minute totals and histogram counts, keys sorted (the SQLite path; PostgreSQL aggregates
    in SQL, :data:`_PG_AGGREGATE`)."""
    minutes: dict[tuple, list[float]] = defaultdict(lambda: [0.0] * len(MINUTE_SUMS))
    hist: dict[tuple, int] = defaultdict(int)
    for (flow, release, role, minute, _now, _model, latency, ttft, err, schema_valid, refusal, tools, t_in, t_out,
         cost, agreement) in rows:
        key = (flow, minute, release, role)
        t = minutes[key]
        t[0] += 1
        t[1] += bool(err)
        t[2] += schema_valid is not None
        t[3] += schema_valid is False
        t[4] += refusal
        t[5] += bool(tools)
        t[6] += ttft is not None
        t[7] += latency
        t[8] += t_in
        t[9] += t_out
        t[10] += cost or 0.0
        t[11] += agreement is not None
        t[12] += agreement or 0.0
        hist[(*key, "l", bucket_of(latency))] += 1
        if ttft is not None:
            hist[(*key, "t", bucket_of(ttft))] += 1
    adapt = connection.ops.adapt_datetimefield_value
    minute_values = [(f, adapt(m), rel, role, *[int(x) if name not in ("latency_sum", "cost_usd", "agreement_sum")
                                                   else x for name, x in zip(MINUTE_SUMS, t, strict=True)])
                     for (f, m, rel, role), t in sorted(minutes.items())]
    hist_values = [(f, adapt(m), rel, role, metric, b, n) for (f, m, rel, role, metric, b), n in sorted(hist.items())]
    return minute_values, hist_values


def _append(rows: list[tuple]) -> None:
    """Append raw rows with one executemany (SQLite)."""
    table = connection.ops.quote_name(Outcome._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in RAW_COLUMNS)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(RAW_COLUMNS))})",
                           [(*r[:3], adapt(r[3]), adapt(r[4]), *r[5:]) for r in rows])


def _upsert(model, keys: tuple[str, ...], sums: tuple[str, ...], values: list[tuple]) -> None:
    if not values:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [*keys, *sums]
    quoted = [connection.ops.quote_name(c) for c in columns]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{q} = {table}.{q} + excluded.{q}" for q in quoted[len(keys):])
    conflict = ", ".join(quoted[:len(keys)])
    with connection.cursor() as cursor:
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quoted)}) VALUES {', '.join([placeholders] * len(chunk))} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
                [v for row in chunk for v in row],
            )


# --- PostgreSQL: COPY into a per-session staging table, then one statement appends and aggregates ----------

STAGE = "migrator_outcome_stage"
_STAGE_TYPES = ("bigint", "varchar(64)", "varchar(16)", "timestamptz", "timestamptz", "varchar(100)", "float8",
                "float8", "varchar(100)", "boolean", "boolean", "varchar(300)", "bigint", "bigint", "float8", "float8")
# Created in the batch's own transaction (so it works behind a transaction-pooling proxy too); ON COMMIT DELETE
# ROWS keeps it empty between batches, and the statement below consumes its rows anyway (a test's transaction
# never commits).
_PG_STAGE = (f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
             + ", ".join(f"{c} {t}" for c, t in zip(RAW_COLUMNS, _STAGE_TYPES, strict=True))
             + ") ON COMMIT DELETE ROWS")


def _pg_bucket(column: str) -> str:
    """:func:`bucket_of` in SQL (the same double-precision logarithms, truncated as ``int()`` does)."""
    return (f"LEAST({MAX_BUCKET}, GREATEST(0, floor(ln(GREATEST({column}, 0)::float8 + 1.0::float8) "
            f"/ ln({GROWTH}::float8))))::smallint")


def _pg_aggregate_sql() -> str:
    raw = ", ".join(RAW_COLUMNS)
    key = "flow_id, minute, release, role"
    minute_exprs = {
        "n": "count(*)", "errors": "count(*) FILTER (WHERE error <> '')", "schema_checked": "count(schema_valid)",
        "schema_invalid": "count(*) FILTER (WHERE NOT schema_valid)", "refusals": "count(*) FILTER (WHERE refusal)",
        "with_tools": "count(*) FILTER (WHERE tool_calls <> '')", "ttft_n": "count(ttft_ms)",
        "latency_sum": "sum(latency_ms)", "input_tokens": "sum(input_tokens)", "output_tokens": "sum(output_tokens)",
        "cost_usd": "coalesce(sum(cost_usd), 0)", "agreement_n": "count(agreement)",
        "agreement_sum": "coalesce(sum(agreement), 0)",
    }
    sums = ", ".join(MINUTE_SUMS)
    adds = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in MINUTE_SUMS)
    minute_table, hist_table = OutcomeMinute._meta.db_table, OutcomeHistogram._meta.db_table
    # The raw rows are the main statement and run first; the two aggregate upserts (unreferenced data-modifying
    # CTEs) run after it, each in key order, so the hot per-minute rows are locked last, in one order, for the
    # shortest time (until the COMMIT that follows).
    return (
        f"WITH s AS (DELETE FROM {STAGE} RETURNING {raw}), "
        f"m AS (INSERT INTO {minute_table} AS t ({key}, {sums}) "
        f"SELECT {key}, {', '.join(minute_exprs[c] for c in MINUTE_SUMS)} FROM s GROUP BY {key} ORDER BY {key} "
        f"ON CONFLICT ({key}) DO UPDATE SET {adds}), "
        f"h AS (INSERT INTO {hist_table} AS t ({key}, metric, bucket, n) "
        f"SELECT {key}, metric, bucket, count(*) FROM ("
        f"SELECT {key}, 'l' AS metric, {_pg_bucket('latency_ms')} AS bucket FROM s UNION ALL "
        f"SELECT {key}, 't', {_pg_bucket('ttft_ms')} FROM s WHERE ttft_ms IS NOT NULL) b "
        f"GROUP BY {key}, metric, bucket ORDER BY {key}, metric, bucket "
        f"ON CONFLICT ({key}, metric, bucket) DO UPDATE SET n = t.n + excluded.n) "
        f"INSERT INTO {Outcome._meta.db_table} ({raw}) SELECT {raw} FROM s"
    )


def _ingest_pg(flow_id: int, batch_id: str, rows: list[tuple], now: datetime) -> None:
    """Four round trips: the batch row (and the staging table), COPY, one statement, COMMIT."""
    with connection.cursor() as cursor:
        cursor.execute(f"{_PG_STAGE}; INSERT INTO {OutcomeBatch._meta.db_table} (flow_id, batch_id, count, "
                       f"received_at) VALUES (%s, %s, %s, %s)", [flow_id, batch_id, len(rows), now])
        with cursor.cursor.copy(f"COPY {STAGE} ({', '.join(RAW_COLUMNS)}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        cursor.execute(_PG_AGGREGATE)


_PG_AGGREGATE = _pg_aggregate_sql()


def ingest(*, flow_id: int, batch_id: str, outcomes: list[Any]) -> IngestResult:
    """Accept one batch (idempotent per ``batch_id``); raises :class:`InvalidOutcomes` naming the bad field."""
    batch_id = (batch_id or "").strip()
    if not batch_id or len(batch_id) > 64:
        raise InvalidOutcomes("batch_id is required: up to 64 characters, the same on every retry of a batch.")
    if not isinstance(outcomes, list) or len(outcomes) > MAX_BATCH:
        raise InvalidOutcomes(f"outcomes must be a list of at most {MAX_BATCH} objects.")
    now = timezone.now()
    rows = _rows(flow_id, outcomes, now)
    postgres = connection.vendor == "postgresql"
    if not postgres:
        minute_values, hist_values = _aggregate(rows)
    try:
        with transaction.atomic():
            if postgres:
                _ingest_pg(flow_id, batch_id, rows, now)
            else:
                OutcomeBatch.objects.create(flow_id=flow_id, batch_id=batch_id, count=len(rows), received_at=now)
                _append(rows)
                _upsert(OutcomeMinute, ("flow_id", "minute", "release", "role"), MINUTE_SUMS, minute_values)
                _upsert(OutcomeHistogram, ("flow_id", "minute", "release", "role", "metric", "bucket"), ("n",),
                        hist_values)
    except IntegrityError:
        if OutcomeBatch.objects.filter(flow_id=flow_id, batch_id=batch_id).exists():
            return IngestResult(accepted=0, duplicate=True)
        raise
    return IngestResult(accepted=len(rows))


def trim(*, now: datetime | None = None) -> tuple[int, int]:
    """Delete raw rows past ``OUTCOME_RAW_HOURS`` and batch ids past ``OUTCOME_BATCH_DAYS`` (in chunks, so no
    long lock); the per-minute aggregates stay."""
    now = now or timezone.now()
    raw_cut = now - timedelta(hours=settings.OUTCOME_RAW_HOURS)
    batch_cut = now - timedelta(days=settings.OUTCOME_BATCH_DAYS)
    removed = [0, 0]
    for i, (model, cut) in enumerate(((Outcome, raw_cut), (OutcomeBatch, batch_cut))):
        while True:
            ids = list(model.objects.filter(received_at__lt=cut).values_list("pk", flat=True)[:5000])
            if not ids:
                break
            removed[i] += model.objects.filter(pk__in=ids).delete()[0]
    return removed[0], removed[1]


# --- reading ---------------------------------------------------------------------------------------------


@dataclass
class Metrics:
    release: str
    role: str
    n: int = 0
    errors: int = 0
    schema_checked: int = 0
    schema_invalid: int = 0
    refusals: int = 0
    with_tools: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    agreement_n: int = 0
    agreement_sum: float = 0.0
    latency: dict[int, int] = field(default_factory=dict)
    ttft: dict[int, int] = field(default_factory=dict)

    def rate(self, part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def error_rate(self) -> float | None:
        return self.rate(self.errors, self.n)

    @property
    def schema_invalid_rate(self) -> float | None:
        return self.rate(self.schema_invalid, self.schema_checked)

    @property
    def tool_rate(self) -> float | None:
        return self.rate(self.with_tools, self.n - self.errors)

    def quantile(self, which: str, q: float) -> float | None:
        hist = self.latency if which == "latency" else self.ttft
        total = sum(hist.values())
        if not total:
            return None
        rank, seen = q * total, 0
        for b in sorted(hist):
            seen += hist[b]
            if seen >= rank:
                return round(bucket_value(b), 1)
        return round(bucket_value(max(hist)), 1)

    def share_above(self, which: str, ms: float) -> tuple[int, int]:
        """(outcomes in buckets above ``ms``, all outcomes) for the latency test."""
        hist = self.latency if which == "latency" else self.ttft
        cut = bucket_of(ms)
        return sum(n for b, n in hist.items() if b > cut), sum(hist.values())

    def as_json(self) -> dict[str, Any]:
        def r(x: float | None, digits: int = 4) -> float | None:
            return None if x is None else round(x, digits)

        return {
            "release": self.release, "role": self.role, "requests": self.n, "errors": self.errors,
            "error_rate": r(self.error_rate), "schema_valid_rate": r(None if self.schema_invalid_rate is None
                                                                      else 1 - self.schema_invalid_rate),
            "tool_call_rate": r(self.tool_rate), "refusal_rate": r(self.rate(self.refusals, self.n)),
            "latency_p50_ms": self.quantile("latency", 0.5), "latency_p95_ms": self.quantile("latency", 0.95),
            "ttft_p50_ms": self.quantile("ttft", 0.5), "ttft_p95_ms": self.quantile("ttft", 0.95),
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "cost_usd": r(self.cost_usd, 6),
            "agreement": r(self.rate(self.agreement_sum, self.agreement_n) if self.agreement_n else None),
        }


def metrics(*, flow_id: int, since: datetime, releases: list[str] | None = None) -> dict[tuple[str, str], Metrics]:
    """Totals per (release, role) from ``since`` (a minute boundary) on: two grouped reads."""
    base = OutcomeMinute.objects.filter(flow_id=flow_id, minute__gte=since)
    hist = OutcomeHistogram.objects.filter(flow_id=flow_id, minute__gte=since)
    if releases is not None:
        base, hist = base.filter(release__in=releases), hist.filter(release__in=releases)
    found: dict[tuple[str, str], Metrics] = {}
    sums = {name: Sum(name) for name in MINUTE_SUMS if name not in ("ttft_n", "latency_sum")}
    for row in base.values("release", "role").annotate(**{f"s_{k}": v for k, v in sums.items()}).order_by():
        m = Metrics(release=row["release"], role=row["role"])
        for name in sums:
            setattr(m, name, row[f"s_{name}"] or 0)
        found[(m.release, m.role)] = m
    for row in hist.values("release", "role", "metric", "bucket").annotate(c=Sum("n")).order_by():
        m = found.get((row["release"], row["role"]))
        if m is not None:
            (m.latency if row["metric"] == "l" else m.ttft)[row["bucket"]] = row["c"]
    return found


def series(*, flow_id: int, since: datetime) -> list[dict[str, Any]]:
    """Per-minute points per (release, role) for the charts: requests and error rate."""
    rows = (OutcomeMinute.objects.filter(flow_id=flow_id, minute__gte=since)
            .values("minute", "release", "role").annotate(n=Sum("n"), errors=Sum("errors"),
                                                          invalid=Sum("schema_invalid"), checked=Sum("schema_checked"),
                                                          latency=Sum("latency_sum"))
            .order_by("minute"))
    return list(rows)


def minute_quantiles(*, flow_id: int, since: datetime, quantiles: tuple[float, ...] = (0.5, 0.95)
                     ) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (release, role): latency ``quantiles`` of each minute from ``since`` on, from the histograms (one
    grouped read), and the calls counted: ``{"calls": n, "minutes": {minute: (q1, q2, …)}}``."""
    hists: dict[tuple[str, str], dict[datetime, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    rows = (OutcomeHistogram.objects.filter(flow_id=flow_id, minute__gte=since, metric="l")
            .values_list("release", "role", "minute", "bucket").annotate(c=Sum("n")).order_by())
    for release, role, minute, bucket, count in rows:
        hists[(release, role)][minute][bucket] = count
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, per_minute in hists.items():
        m = Metrics(release=key[0], role=key[1])
        points = {}
        calls = 0
        for minute, hist in per_minute.items():
            m.latency = hist
            calls += sum(hist.values())
            points[minute] = tuple(m.quantile("latency", q) or 0.0 for q in quantiles)
        out[key] = {"calls": calls, "minutes": points}
    return out
