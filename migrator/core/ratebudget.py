"""A per-connection rate budget (requests and tokens per minute) shared by every worker.

Every process that calls one connection reserves its slot here before sending, so N workers on M machines
together stay under the connection's limits instead of each discovering them through 429s.

The algorithm is GCRA (a token bucket expressed as one "theoretical arrival time" per dimension): a request
may start at ``max(now, tat_requests - tau, tat_tokens - tau_tokens)``; reserving it moves each TAT forward by
its cost. Reservations are atomic (one Lua script in Redis, or a file lock on one machine), so callers queue
fairly without polling: ``acquire`` returns at once with the time to sleep and every caller sleeps its own
share. Requests are spaced evenly (burst of about one second's worth) because the API counts a sliding minute:
a burst at the start of our window could land in the same server window as the tail of the previous one.

Limits come, in order, from explicit arguments, the connection's configured ``rate_limit`` (an optional
related object with ``rpm``/``tpm``, owned by the app that configures it), the ``x-ratelimit-limit-*``
headers the API sent last (learned by ``observe``), then the ``OPENAI_DEFAULT_RPM``/``OPENAI_DEFAULT_TPM``
settings. The budget spends ``share`` (95% by default) of the limit so clock jitter never tips it over.

Redis is used when the Celery broker is Redis; with the filesystem broker (a laptop, one machine) the state
lives in a file under ``DATA_DIR/ratebudget`` guarded by ``fcntl.flock``, which still spans processes.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_SHARE = 0.95
LEARNED_TTL_SECONDS = 3600
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")

# One script reserves both dimensions atomically. KEYS: requests TAT, tokens TAT.
# ARGV: seconds per request, request tolerance, seconds per token, token tolerance, tokens, ttl ms,
#       penalty seconds (0 = a reservation; > 0 = block everyone for that long, no reservation).
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local req_t, req_tau = tonumber(ARGV[1]), tonumber(ARGV[2])
local tok_t, tok_tau = tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, ttl, penalty = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local tat_r = tonumber(redis.call('GET', KEYS[1]) or '0')
local tat_t = tonumber(redis.call('GET', KEYS[2]) or '0')
if penalty > 0 then
  local until_r = now + penalty + req_tau
  if until_r > tat_r then redis.call('SET', KEYS[1], string.format('%.6f', until_r), 'PX', ttl) end
  return '0'
end
local start = now
if req_t > 0 and tat_r - req_tau > start then start = tat_r - req_tau end
if tok_t > 0 and tokens > 0 and tat_t - tok_tau > start then start = tat_t - tok_tau end
if req_t > 0 then
  redis.call('SET', KEYS[1], string.format('%.6f', math.max(tat_r, start) + req_t), 'PX', ttl)
end
if tok_t > 0 and tokens > 0 then
  redis.call('SET', KEYS[2], string.format('%.6f', math.max(tat_t, start) + tokens * tok_t), 'PX', ttl)
end
return string.format('%.6f', start - now)
"""


def parse_duration(value: str | None) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` or a bare number of seconds → seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a 429/503 asks for: ``retry-after-ms`` first (finer), then ``retry-after`` seconds."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            return None  # an HTTP date: the API never sends one; callers fall back to their own backoff
    return None


@dataclass(frozen=True)
class Limits:
    rpm: int | None
    tpm: int | None
    source: str  # "explicit", "connection", "learned", "default"


class _Backend(Protocol):
    def reserve(self, key: str, args: tuple[float, float, float, float, int, int, float]) -> float: ...
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: int) -> None: ...


class _RedisBackend:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self.script = self.client.register_script(_LUA)

    def reserve(self, key: str, args: tuple[float, float, float, float, int, int, float]) -> float:
        return float(self.script(keys=[f"{key}:req", f"{key}:tok"], args=[repr(a) for a in args]))

    def get(self, key: str) -> str | None:
        value = self.client.get(key)
        return value.decode() if isinstance(value, bytes) else value

    def set(self, key: str, value: str, ttl: int) -> None:
        self.client.set(key, value, ex=ttl)


class _FileBackend:
    """The same reservation on one machine: a JSON file per key, serialised with ``flock`` across processes."""

    _lock = threading.Lock()

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", key) + ".json")

    def _update(self, key: str, change: Callable[[dict[str, Any], float], Any]) -> Any:
        import fcntl

        with self._lock, open(self._path(key), "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                raw = handle.read()
                try:
                    state = json.loads(raw) if raw else {}
                except ValueError:
                    state = {}
                now = time.time()
                state = {k: v for k, v in state.items() if not isinstance(v, list) or v[1] > now}
                result = change(state, now)
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(state))
                handle.flush()
                return result
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def reserve(self, key: str, args: tuple[float, float, float, float, int, int, float]) -> float:
        req_t, req_tau, tok_t, tok_tau, tokens, ttl_ms, penalty = args

        def change(state: dict[str, Any], now: float) -> float:
            tat_r = float(state.get("req", [0, 0])[0])
            tat_t = float(state.get("tok", [0, 0])[0])
            expires = now + ttl_ms / 1000
            if penalty > 0:
                state["req"] = [max(tat_r, now + penalty + req_tau), expires]
                return 0.0
            start = now
            if req_t > 0:
                start = max(start, tat_r - req_tau)
            if tok_t > 0 and tokens > 0:
                start = max(start, tat_t - tok_tau)
            if req_t > 0:
                state["req"] = [max(tat_r, start) + req_t, expires]
            if tok_t > 0 and tokens > 0:
                state["tok"] = [max(tat_t, start) + tokens * tok_t, expires]
            return start - now

        return float(self._update(key, change))

    def get(self, key: str) -> str | None:
        def change(state: dict[str, Any], now: float) -> str | None:
            entry = state.get("kv:" + key)
            return entry[0] if entry else None

        return self._update("_learned", change)

    def set(self, key: str, value: str, ttl: int) -> None:
        def change(state: dict[str, Any], now: float) -> None:
            state["kv:" + key] = [value, now + ttl]

        self._update("_learned", change)


_backend_cache: dict[str, _Backend] = {}


def _backend() -> _Backend:
    """Redis when the broker is Redis (every worker of every machine shares it), else the local file."""
    from migrator.celery import broker_choice

    choice = broker_choice()
    name = f"redis:{settings.REDIS_URL}" if choice.kind == "redis" else f"file:{settings.DATA_DIR}"
    if name not in _backend_cache:
        if choice.kind == "redis":
            _backend_cache[name] = _RedisBackend(settings.REDIS_URL)
        else:
            _backend_cache[name] = _FileBackend(Path(settings.DATA_DIR) / "ratebudget")
    return _backend_cache[name]


def _configured(connection: Any) -> tuple[int | None, int | None]:
    """``connection.rate_limit.rpm/tpm`` when an app configured them (an optional one-to-one), else nothing."""
    try:
        limit = getattr(connection, "rate_limit", None)
    except Exception:
        return None, None
    if limit is None:
        return None, None
    return getattr(limit, "rpm", None) or None, getattr(limit, "tpm", None) or None


class RateBudget:
    """Reserve a slot before each call; tell the budget what the API said after it."""

    def __init__(self, key: str, *, rpm: int | None = None, tpm: int | None = None, share: float = DEFAULT_SHARE,
                 source: str = "explicit", backend: _Backend | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.key = key
        self.share = share
        self.backend = backend or _backend()
        self.sleep = sleep
        self._explicit = Limits(rpm, tpm, source)

    @classmethod
    def for_connection(cls, connection: Any, *, rpm: int | None = None, tpm: int | None = None,
                       share: float = DEFAULT_SHARE, sleep: Callable[[float], None] = time.sleep) -> RateBudget:
        conf_rpm, conf_tpm = _configured(connection)
        source = "explicit" if (rpm or tpm) else "connection" if (conf_rpm or conf_tpm) else "learned"
        key = f"ratebudget:{getattr(connection, 'pk', None) or getattr(connection, 'name', 'default')}"
        return cls(key, rpm=rpm or conf_rpm, tpm=tpm or conf_tpm, share=share, source=source, sleep=sleep)

    # --- limits -----------------------------------------------------------------------------------------------

    def limits(self) -> Limits:
        """The limits in force: configured ones win; otherwise what the API's headers said; else settings."""
        rpm, tpm, source = self._explicit.rpm, self._explicit.tpm, self._explicit.source
        if rpm is None or tpm is None:
            learned_rpm, learned_tpm = self._learned()
            if rpm is None and learned_rpm:
                rpm, source = learned_rpm, "learned"
            if tpm is None and learned_tpm:
                tpm = learned_tpm
        if rpm is None and tpm is None:
            source = "default"
        rpm = rpm or getattr(settings, "OPENAI_DEFAULT_RPM", None) or None
        tpm = tpm or getattr(settings, "OPENAI_DEFAULT_TPM", None) or None
        return Limits(rpm, tpm, source)

    def _learned(self) -> tuple[int | None, int | None]:
        try:
            raw = self.backend.get(f"{self.key}:learned")
        except Exception as exc:
            logger.warning("rate budget %s: could not read learned limits (%s)", self.key, exc)
            return None, None
        if not raw:
            return None, None
        data = json.loads(raw)
        return data.get("rpm"), data.get("tpm")

    def requests_per_second(self) -> float | None:
        rpm = self.limits().rpm
        return rpm * self.share / 60 if rpm else None

    def estimate_seconds(self, requests: int, tokens: int = 0) -> float:
        """How long ``requests`` calls carrying ``tokens`` in all take at this budget (0 when unlimited)."""
        limits = self.limits()
        by_requests = requests * 60 / (limits.rpm * self.share) if limits.rpm else 0.0
        by_tokens = tokens * 60 / (limits.tpm * self.share) if limits.tpm else 0.0
        return max(by_requests, by_tokens)

    # --- the three verbs --------------------------------------------------------------------------------------

    def _args(self, tokens: int, penalty: float = 0.0) -> tuple[float, float, float, float, int, int, float]:
        limits = self.limits()
        req_t = 60 / (limits.rpm * self.share) if limits.rpm else 0.0
        tok_t = 60 / (limits.tpm * self.share) if limits.tpm else 0.0
        # Tolerance: about one second of traffic (a request interval of a second or more = perfectly even).
        req_tau = max(1.0 - req_t, 0.0) if req_t else 0.0
        tok_tau = 1.0 if tok_t else 0.0
        if tok_t and tokens * tok_t > 60:
            # One call larger than the whole minute's budget would wait forever in principle; let it go alone.
            tokens = int(60 / tok_t)
        return (req_t, req_tau, tok_t, tok_tau, max(int(tokens), 0), 120_000, penalty)

    def acquire(self, tokens: int = 0) -> float:
        """Wait until a call of about ``tokens`` tokens may go; returns the seconds waited."""
        try:
            wait = self.backend.reserve(self.key, self._args(tokens))
        except Exception as exc:
            logger.warning("rate budget %s unavailable (%s); sending unpaced", self.key, exc)
            return 0.0
        if wait > 0:
            self.sleep(wait)
        return max(wait, 0.0)

    def penalize(self, seconds: float) -> None:
        """Hold every worker of this connection back for ``seconds`` (a 429's retry-after)."""
        if seconds <= 0:
            return
        try:
            self.backend.reserve(self.key, self._args(0, penalty=float(seconds)))
        except Exception as exc:
            logger.warning("rate budget %s: could not record a %.3gs penalty (%s)", self.key, seconds, exc)

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Learn from an answer's ``x-ratelimit-*`` and ``retry-after(-ms)`` headers."""
        if not headers:
            return
        lowered = {k.lower(): v for k, v in headers.items()}
        learned: dict[str, int] = {}
        for dim in ("requests", "tokens"):
            limit = _int(lowered.get(f"x-ratelimit-limit-{dim}"))
            if limit:
                learned["rpm" if dim == "requests" else "tpm"] = limit
        if learned:
            previous = self._learned()
            if (learned.get("rpm"), learned.get("tpm")) != previous:
                try:
                    self.backend.set(f"{self.key}:learned", json.dumps(learned), LEARNED_TTL_SECONDS)
                except Exception as exc:
                    logger.warning("rate budget %s: could not store learned limits (%s)", self.key, exc)
        wait = retry_after_seconds(lowered) or 0.0
        for dim in ("requests", "tokens"):
            remaining = _int(lowered.get(f"x-ratelimit-remaining-{dim}"))
            if remaining == 0:
                wait = max(wait, parse_duration(lowered.get(f"x-ratelimit-reset-{dim}")) or 0.0)
        if wait > 0:
            self.penalize(wait)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def estimate_tokens(payload: Any) -> int:
    """A cheap token estimate of a request body (about four characters per token, like the API's own)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=str)
    return math.ceil(len(text) / 4)


__all__ = ["Limits", "RateBudget", "estimate_tokens", "parse_duration", "retry_after_seconds"]

