"""Rate limits (``--rpm``/``--tpm``), random failures (``--fail-rate``) and per-request faults.

Per-request fault header: ``x-sandbox-fault: 429 | 500 | 503 | timeout | lost | <any 4xx/5xx>``;
``timeout`` waits ``x-sandbox-fault-delay-ms`` (default 10000) and then answers 504; ``lost`` carries the
request out (a write commits) and then answers 502, the way an answer lost between the API and the client
looks: the client cannot tell whether the write happened. ``--lost-rate`` does that to a share of writes and
``--throttle-rate`` answers a share of requests 429 (nothing done), both from the seeded generator.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque

from .config import SandboxConfig
from .errors import ApiError

FAULT_HEADER = "x-sandbox-fault"
LOST = "lost"
WRITE_METHODS = ("POST", "DELETE")
DELAY_HEADER = "x-sandbox-fault-delay-ms"
TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
         404: "invalid_request_error", 409: "invalid_request_error", 422: "invalid_request_error",
         429: "requests", 500: "server_error", 502: "server_error", 503: "server_error", 504: "server_error"}


def _duration(seconds: float) -> str:
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(seconds % 60)}s"
    return f"{seconds:.3g}s" if seconds < 1 else f"{math.ceil(seconds)}s"


def lost_answer() -> ApiError:
    """The 502 a client sees when the upstream answer was lost; the work behind it was done."""
    return ApiError(502, "Bad gateway: the upstream answer was lost (sandbox fault 'lost'; the request was "
                    "carried out).", type="server_error", code=None)


def fault_error(status: int, why: str = "requested by x-sandbox-fault") -> ApiError:
    if status == 429:
        return ApiError(429, f"Rate limit reached ({why}). Please try again in 1s.", type="requests",
                        code="rate_limit_exceeded", headers={"retry-after": "1", "retry-after-ms": "1000"})
    kind = TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    message = ("The server had an error while processing your request. Sorry about that!" if status >= 500
               else f"Sandbox fault {status} ({why}).")
    return ApiError(status, message, type=kind, code=None)


class Limiter:
    """Sliding one-minute windows for requests and tokens, plus the seeded random failures."""

    def __init__(self, config: SandboxConfig) -> None:
        self.rpm = config.rpm
        self.tpm = config.tpm
        self.fail_rate = config.fail_rate
        self.lost_rate = config.lost_rate
        self.throttle_rate = config.throttle_rate
        self.stream_drop_rate = config.stream_drop_rate
        self.random = random.Random(config.seed_random)
        self.requests: deque[float] = deque()
        self.tokens: deque[tuple[float, int]] = deque()

    def random_failure(self) -> ApiError | None:
        if self.fail_rate <= 0:
            return None
        if self.random.random() < self.fail_rate:
            return fault_error(self.random.choice((500, 503)), "random failure")
        return None

    def random_throttle(self) -> ApiError | None:
        if self.throttle_rate > 0 and self.random.random() < self.throttle_rate:
            return fault_error(429, "random throttle")
        return None

    def random_lost(self, method: str) -> bool:
        """Whether this write's answer gets lost after it commits (``--lost-rate``)."""
        return method in WRITE_METHODS and self.lost_rate > 0 and self.random.random() < self.lost_rate

    def stream_drop(self, count: int) -> int | None:
        """``--stream-drop-rate``: the event after which this stream of ``count`` events is cut, or None."""
        if self.stream_drop_rate > 0 and self.random.random() < self.stream_drop_rate:
            return self.random.randrange(1, max(count, 2))
        return None

    def check(self, tokens: int) -> dict[str, str]:
        """Count one request of ``tokens``; raises 429 beyond a limit; returns the x-ratelimit headers."""
        if not self.rpm and not self.tpm:
            return {}
        t = time.monotonic()
        while self.requests and t - self.requests[0] >= 60:
            self.requests.popleft()
        while self.tokens and t - self.tokens[0][0] >= 60:
            self.tokens.popleft()
        used_tokens = sum(n for _, n in self.tokens)
        headers: dict[str, str] = {}
        if self.rpm:
            reset = 60 - (t - self.requests[0]) if self.requests else 60 / self.rpm
            headers.update({"x-ratelimit-limit-requests": str(self.rpm),
                            "x-ratelimit-remaining-requests": str(max(self.rpm - len(self.requests) - 1, 0)),
                            "x-ratelimit-reset-requests": _duration(reset)})
            if len(self.requests) >= self.rpm:
                self._deny(f"requests per min (RPM): Limit {self.rpm}, Used {len(self.requests)}, Requested 1",
                           reset, headers, "requests")
        if self.tpm:
            reset_t = 60 - (t - self.tokens[0][0]) if self.tokens else 1.0
            headers.update({"x-ratelimit-limit-tokens": str(self.tpm),
                            "x-ratelimit-remaining-tokens": str(max(self.tpm - used_tokens - tokens, 0)),
                            "x-ratelimit-reset-tokens": _duration(reset_t)})
            if used_tokens + tokens > self.tpm:
                self._deny(f"tokens per min (TPM): Limit {self.tpm}, Used {used_tokens}, Requested {tokens}",
                           reset_t, headers, "tokens")
        self.requests.append(t)
        if tokens:
            self.tokens.append((t, tokens))
        return headers

    @staticmethod
    def _deny(what: str, reset: float, headers: dict[str, str], kind: str) -> None:
        wait_ms = max(int(reset * 1000), 1)
        raise ApiError(
            429,
            f"Rate limit reached for sandbox-model in organization org-sandbox on {what}. "
            f"Please try again in {_duration(reset)}.",
            type=kind, code="rate_limit_exceeded",
            headers={**headers, "retry-after": str(max(math.ceil(reset), 1)), "retry-after-ms": str(wait_ms)},
        )
