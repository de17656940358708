"""Ingest of production outcomes and the per-release metrics read from them.

A batch is accepted once per id (``OutcomeBatch``'s unique constraint, in the same transaction as its rows),
so a client that retries after a lost answer never counts twice. Each batch appends its raw rows and adds its
per-minute totals and latency/TTFT histogram counts in SQL (``INSERT … ON CONFLICT DO UPDATE SET n = n + …``,
keys sorted so concurrent batches lock rows in one order and never deadlock). Pages only read.
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
from migrator.validation.pricing import estimate_cost

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


def _rows(flow_id: int, outcomes: list[Any], now: datetime) -> list[tuple]:
    earliest, latest = now - timedelta(hours=1), now + timedelta(seconds=60)
    rows = []
    minutes: dict[float, datetime] = {}
    for i, raw in enumerate(outcomes):
        if not isinstance(raw, dict):
            raise InvalidOutcomes(f"outcomes[{i}] must be an object.")
        release = _text(raw, "release", i, 64)
        if not release:
            raise InvalidOutcomes(f"outcomes[{i}].release is required (the release hash that served the call).")
        role = _text(raw, "role", i, 16) or "production"
        if role not in ROLES:
            raise InvalidOutcomes(f"outcomes[{i}].role must be one of {', '.join(ROLES)}, not {role!r}.")
        at = _num(raw, "at", i, low=0, high=4e9)
        # A skewed client clock lands in the nearest plausible minute.
        stamp = min(max(at or now.timestamp(), earliest.timestamp()), latest.timestamp()) // 60 * 60
        minute = minutes.get(stamp)
        if minute is None:
            minute = minutes[stamp] = datetime.fromtimestamp(stamp, UTC)
        tools = raw.get("tool_calls") or []
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise InvalidOutcomes(f"outcomes[{i}].tool_calls must be a list of function names.")
        model = _text(raw, "model", i, 100)
        tokens_in = int(_num(raw, "input_tokens", i, high=1e9) or 0)
        tokens_out = int(_num(raw, "output_tokens", i, high=1e9) or 0)
        rows.append((
            flow_id, release, role, minute, now, model, _num(raw, "latency_ms", i, required=True),
            _num(raw, "ttft_ms", i), _text(raw, "error", i, 100), _flag(raw, "schema_valid", i),
            bool(_flag(raw, "refusal", i)), ",".join(tools)[:300], tokens_in, tokens_out,
            estimate_cost(model, tokens_in, tokens_out) if model else None, _num(raw, "agreement", i, high=1.0),
        ))
    return rows


def _append(rows: list[tuple]) -> None:
    """Append raw rows: COPY on PostgreSQL (no per-row statement), one executemany elsewhere."""
    table = connection.ops.quote_name(Outcome._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in RAW_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
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


def ingest(*, flow_id: int, batch_id: str, outcomes: list[Any]) -> IngestResult:
    """Accept one batch (idempotent per ``batch_id``); raises :class:`InvalidOutcomes` naming the bad field."""
    batch_id = (batch_id or "").strip()
    if not batch_id or len(batch_id) > 64:
        raise InvalidOutcomes("batch_id is required: up to 64 characters, the same on every retry of a batch.")
    if not isinstance(outcomes, list) or len(outcomes) > MAX_BATCH:
        raise InvalidOutcomes(f"outcomes must be a list of at most {MAX_BATCH} objects.")
    now = timezone.now()
    rows = _rows(flow_id, outcomes, now)
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
    try:
        with transaction.atomic():
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
