"""Counting config API calls without writing to the database on the request path.

Every answer adds to counters outside the database: a Redis hash (one pipelined round trip per call) when the
broker is Redis, else a spool file under ``MIGRATOR_DATA_DIR/traffic`` (one locked append). :func:`flush`,
run by the worker every ``TRAFFIC_FLUSH_SECONDS`` and by ``manage.py flush_traffic``, moves them into
``FlowTrafficDay`` (per flow, served version and UTC day) and ``ApiTokenDay`` (per token and day, plus the
token's ``use_count``/``last_used_at``) in one transaction. Counts stay exact: Redis counters are renamed away
atomically before they are read, and spool appends are serialised with the flusher by ``flock`` so no line can
land in a file that was already read.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F

logger = logging.getLogger(__name__)

SPOOL_NAME = "pending.tsv"


@dataclass
class Counts:
    """Aggregated counters, keyed as the database rows they end up in."""

    flows: dict[tuple[int, int, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    tokens: dict[tuple[int, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    last_used: dict[int, float] = field(default_factory=dict)

    def add(self, *, token_id: int, flow_id: int | None, version: int | None, day: str, not_modified: bool,
            calls: int = 1, nm: int | None = None, ts: float = 0.0) -> None:
        nm = (calls if not_modified else 0) if nm is None else nm
        if token_id:
            bucket = self.tokens[(token_id, day)]
            bucket[0] += calls
            bucket[1] += nm
            self.last_used[token_id] = max(self.last_used.get(token_id, 0.0), ts)
        if flow_id and version is not None:
            bucket = self.flows[(flow_id, version, day)]
            bucket[0] += calls
            bucket[1] += nm

    def __bool__(self) -> bool:
        return bool(self.flows or self.tokens)


# --- where counters live between flushes -------------------------------------------------------------------


class RedisCounter:
    """One Redis hash; fields ``f|flow|version|day|c`` / ``…|n``, ``t|token|day|c`` / ``…|n`` and ``l|token``."""

    kind = "redis"

    def __init__(self, url: str, namespace: str = "migrator:traffic") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.live_key = f"{namespace}:live"
        self.flushing_prefix = f"{namespace}:flushing:"

    def record(self, *, token_id: int, flow_id: int | None, version: int | None, day: str, not_modified: bool,
               ts: float) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hincrby(self.live_key, f"t|{token_id}|{day}|c", 1)
        if not_modified:
            pipe.hincrby(self.live_key, f"t|{token_id}|{day}|n", 1)
        if flow_id and version is not None:
            pipe.hincrby(self.live_key, f"f|{flow_id}|{version}|{day}|c", 1)
            if not_modified:
                pipe.hincrby(self.live_key, f"f|{flow_id}|{version}|{day}|n", 1)
        pipe.hset(self.live_key, f"l|{token_id}", f"{ts:.3f}")
        pipe.execute()

    def take(self) -> list[tuple[str, Counts]]:
        """Detach the live hash (atomically) and return every detached batch not yet flushed."""
        import redis

        # ResponseError: no such key, nothing was counted since the last flush.
        with contextlib.suppress(redis.ResponseError):
            self.client.rename(self.live_key, f"{self.flushing_prefix}{uuid.uuid4().hex}")
        batches = []
        for key in self.client.scan_iter(match=f"{self.flushing_prefix}*", count=100):
            raw = self.client.hgetall(key)
            batches.append((key.decode() if isinstance(key, bytes) else key, _parse_redis(raw)))
        return batches

    def done(self, batch_id: str) -> None:
        self.client.delete(batch_id)


def _parse_redis(raw: dict) -> Counts:
    counts = Counts()
    for k, v in raw.items():
        key = k.decode() if isinstance(k, bytes) else k
        value = v.decode() if isinstance(v, bytes) else v
        parts = key.split("|")
        if parts[0] == "f" and len(parts) == 5:
            bucket = counts.flows[(int(parts[1]), int(parts[2]), parts[3])]
            bucket[0 if parts[4] == "c" else 1] += int(value)
        elif parts[0] == "t" and len(parts) == 4:
            bucket = counts.tokens[(int(parts[1]), parts[2])]
            bucket[0 if parts[3] == "c" else 1] += int(value)
        elif parts[0] == "l" and len(parts) == 2:
            counts.last_used[int(parts[1])] = max(counts.last_used.get(int(parts[1]), 0.0), float(value))
    return counts


class SpoolCounter:
    """A tab-separated spool file, appended under an exclusive ``flock`` by every web process.

    The flusher renames the file and then takes the same lock on it before reading. A writer that opened the
    old file just before the rename notices (its descriptor no longer names the spool path) and retries on the
    new file, so every line is read exactly once.
    """

    kind = "filesystem"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / SPOOL_NAME

    def record(self, *, token_id: int, flow_id: int | None, version: int | None, day: str, not_modified: bool,
               ts: float) -> None:
        line = f"{token_id}\t{flow_id or ''}\t{'' if version is None else version}\t{day}\t{int(not_modified)}\t{ts:.3f}\n"
        self.directory.mkdir(parents=True, exist_ok=True)
        for _attempt in range(50):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    continue  # renamed away between open and lock: write to the new file
                if os.fstat(fd).st_ino != current.st_ino:
                    continue
                os.write(fd, line.encode())
                return
            finally:
                os.close(fd)
        raise OSError(f"could not append to {self.path}")

    def take(self) -> list[tuple[str, Counts]]:
        if not self.directory.exists():
            return []
        if self.path.exists():
            detached = self.directory / f"flushing-{uuid.uuid4().hex}.tsv"
            os.rename(self.path, detached)
        batches = []
        for path in sorted(self.directory.glob("flushing-*.tsv")):
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # waits for a writer that locked the file before the rename
                with os.fdopen(os.dup(fd), "r", encoding="utf-8") as handle:
                    text = handle.read()
            finally:
                os.close(fd)
            batches.append((str(path), _parse_spool(text, path)))
        return batches

    def done(self, batch_id: str) -> None:
        Path(batch_id).unlink(missing_ok=True)


def _parse_spool(text: str, path: Path) -> Counts:
    counts = Counts()
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split("\t")
        try:
            token_id, flow_id, version, day, nm, ts = parts
            counts.add(token_id=int(token_id), flow_id=int(flow_id) if flow_id else None,
                       version=int(version) if version else None, day=day, not_modified=nm == "1",
                       ts=float(ts))
        except ValueError:
            logger.warning("traffic spool %s line %d is damaged and was skipped: %r", path, number, line[:200])
    return counts


_counter: RedisCounter | SpoolCounter | None = None
_counter_lock = threading.Lock()


def spool_dir() -> Path:
    return Path(settings.DATA_DIR) / "traffic"


def counter() -> RedisCounter | SpoolCounter:
    """Redis when the broker is Redis (web and worker agree on it), else the spool file."""
    global _counter
    if _counter is None:
        with _counter_lock:
            if _counter is None:
                from migrator.celery import broker_choice

                choice = broker_choice()
                from migrator.core.jobs.queues import job_queue

                # Namespaced by the job queue (unique per installation): installations sharing a Redis never
                # mix counts, and web and worker of one installation always agree.
                _counter = (RedisCounter(settings.REDIS_URL, f"migrator:traffic:{job_queue()}")
                            if choice.kind == "redis" else SpoolCounter(spool_dir()))
    return _counter


def use_counter(value: RedisCounter | SpoolCounter | None) -> None:
    """Pin the counter backend (tests and benchmarks); None goes back to choosing by the broker."""
    global _counter
    _counter = value


# --- the request path ---------------------------------------------------------------------------------------


def record(*, token_id: int, flow_id: int | None = None, version: int | None = None,
           not_modified: bool = False) -> None:
    """Count one authenticated call: on its token always, on the flow and version when one was served.

    Never raises: losing the counter store must not fail production's configuration reads. A failure is logged.
    """
    now = time.time()
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    try:
        counter().record(token_id=token_id, flow_id=flow_id, version=version, day=day, not_modified=not_modified,
                         ts=now)
    except Exception:
        logger.exception("could not count a config API call (token %s, flow %s)", token_id, flow_id)


# --- flushing into the database -----------------------------------------------------------------------------


@dataclass
class FlushResult:
    batches: int = 0
    calls: int = 0
    flow_rows: int = 0
    token_rows: int = 0

    def __str__(self) -> str:
        return (f"flushed {self.calls} call(s) from {self.batches} batch(es) into {self.flow_rows} flow-day and "
                f"{self.token_rows} token-day row(s)")


def _apply(counts: Counts) -> tuple[int, int]:
    from migrator.core.models import Flow
    from migrator.flows.models import ApiToken, ApiTokenDay, FlowTrafficDay

    # Rows of flows or tokens deleted since the call are dropped: nothing is left to show them on.
    flow_ids = set(Flow.objects.filter(pk__in={k[0] for k in counts.flows}).values_list("pk", flat=True))
    last_seen = dict(ApiToken.objects.select_for_update().filter(pk__in={k[0] for k in counts.tokens})
                     .values_list("pk", "last_used_at"))
    token_ids = set(last_seen)
    flow_rows = token_rows = 0
    for (flow_id, version, day), (calls, nm) in sorted(counts.flows.items()):
        if flow_id not in flow_ids or not calls:
            continue
        row, created = FlowTrafficDay.objects.get_or_create(
            flow_id=flow_id, version=version, day=date.fromisoformat(day),
            defaults={"calls": calls, "not_modified": nm})
        if not created:
            FlowTrafficDay.objects.filter(pk=row.pk).update(calls=F("calls") + calls,
                                                            not_modified=F("not_modified") + nm)
        flow_rows += 1
    per_token: dict[int, int] = defaultdict(int)
    for (token_id, day), (calls, nm) in sorted(counts.tokens.items()):
        if token_id not in token_ids or not calls:
            continue
        row, created = ApiTokenDay.objects.get_or_create(
            token_id=token_id, day=date.fromisoformat(day), defaults={"calls": calls, "not_modified": nm})
        if not created:
            ApiTokenDay.objects.filter(pk=row.pk).update(calls=F("calls") + calls, not_modified=F("not_modified") + nm)
        per_token[token_id] += calls
        token_rows += 1
    for token_id, calls in per_token.items():
        update: dict = {"use_count": F("use_count") + calls}
        last = counts.last_used.get(token_id)
        if last:
            seen = datetime.fromtimestamp(last, UTC)
            update["last_used_at"] = max(seen, last_seen[token_id]) if last_seen[token_id] else seen
        ApiToken.objects.filter(pk=token_id).update(**update)
    return flow_rows, token_rows


def flush(*, counters: list[RedisCounter | SpoolCounter] | None = None) -> FlushResult:
    """Move every pending count into the database. Safe to run concurrently with calls and with itself."""
    result = FlushResult()
    sources = counters if counters is not None else _all_counters()
    for source in sources:
        for batch_id, counts in source.take():
            with transaction.atomic():
                flow_rows, token_rows = _apply(counts)
            # Forgotten only after the commit: a crash in between re-reads the batch rather than losing it.
            source.done(batch_id)
            result.batches += 1
            result.calls += sum(c for c, _ in counts.tokens.values())
            result.flow_rows += flow_rows
            result.token_rows += token_rows
    return result


def _all_counters() -> list[RedisCounter | SpoolCounter]:
    """The active backend, plus the spool when Redis is active (left over from a time without Redis)."""
    active = counter()
    return [active, SpoolCounter(spool_dir())] if active.kind == "redis" else [active]


# --- reading ------------------------------------------------------------------------------------------------


# The flow page draws each day as an SVG column of stacked rectangles (no style attributes: the
# Content-Security-Policy refuses them). A version with only a few calls that day still gets this much of the
# column (about one pixel of the 100-pixel chart), as the CSS min-height of the former bars gave it.
MIN_SEGMENT_PCT = 1.0


def _stack(segments: list[dict]) -> list[dict]:
    """Each segment's ``top`` and ``height`` in percent of the column, the first one at the bottom."""
    bottom = 100.0
    for segment in segments:
        segment["height"] = max(segment["pct"], MIN_SEGMENT_PCT)
        bottom -= segment["height"]
        segment["top"] = round(bottom, 2)
    return segments


def flow_days(flow, *, days: int = 14) -> dict:
    """Calls per day and served version over the last ``days`` UTC days, shaped for the flow page's chart."""
    from datetime import timedelta

    from migrator.flows.models import FlowTrafficDay

    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    rows = list(FlowTrafficDay.objects.filter(flow=flow, day__gte=start).order_by("day", "version")
                .values_list("day", "version", "calls", "not_modified"))
    versions = sorted({r[1] for r in rows})
    by_day: dict[date, dict[int, int]] = defaultdict(dict)
    for day, version, calls, _nm in rows:
        by_day[day][version] = calls
    peak = max((sum(v.values()) for v in by_day.values()), default=0)
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        per_version = by_day.get(day, {})
        total = sum(per_version.values())
        series.append({
            "day": day,
            "total": total,
            "segments": _stack([{"version": v, "calls": per_version[v], "color": versions.index(v) % 6,
                                 "pct": round(100 * per_version[v] / peak, 2) if peak else 0,
                                 "share": round(100 * per_version[v] / total) if total else 0}
                                for v in versions if per_version.get(v)]),
        })
    totals = [{"version": v, "calls": sum(by_day[d].get(v, 0) for d in by_day), "color": i % 6}
              for i, v in enumerate(versions)]
    return {"days": series, "versions": versions, "totals": totals, "peak": peak,
            "calls": sum(t["calls"] for t in totals), "not_modified": sum(r[3] for r in rows), "start": start, "end": today}


def token_days(token_ids: list[int], *, days: int = 14) -> dict[int, list[dict]]:
    """Per token, calls per UTC day over the last ``days`` days (oldest first), for the token list."""
    from datetime import timedelta

    from migrator.flows.models import ApiTokenDay

    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    found: dict[int, dict[date, tuple[int, int]]] = defaultdict(dict)
    for token_id, day, calls, nm in ApiTokenDay.objects.filter(token_id__in=token_ids, day__gte=start).values_list(
            "token_id", "day", "calls", "not_modified"):
        found[token_id][day] = (calls, nm)
    out: dict[int, list[dict]] = {}
    for token_id in token_ids:
        peak = max((c for c, _ in found[token_id].values()), default=0)
        out[token_id] = [
            {"day": start + timedelta(days=i),
             "calls": found[token_id].get(start + timedelta(days=i), (0, 0))[0],
             "not_modified": found[token_id].get(start + timedelta(days=i), (0, 0))[1],
             "pct": round(100 * found[token_id].get(start + timedelta(days=i), (0, 0))[0] / peak, 1) if peak else 0}
            for i in range(days)
        ]
        for day in out[token_id]:
            day["top"] = round(100 - day["pct"], 1)  # where the day's bar starts, drawn from the bottom up
    return out
