"""Every Conversations call the backfill makes: paced by the shared rate budget, never retried blindly.

The SDK client is built with ``max_retries=0`` (the SDK would retry a POST whose first attempt committed and
so duplicate items). This module retries what is safe to retry itself:

- a 429 did nothing: wait what ``retry-after(-ms)`` says (shared with every worker through the budget), resend;
- a read (GET, DELETE of something already gone) after a timeout or 5xx: resend, with backoff;
- a write after a timeout, 5xx or dropped connection: **not** resent here. The outcome is unknown, so the caller
  gets :class:`Unknown` and reads the conversation back before deciding what is missing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
from django.conf import settings
from django.db.models import F

from migrator.backfill.models import BackfillRun
from migrator.core.models import Connection
from migrator.core.openai_client import client_for, describe_error
from migrator.core.ratebudget import RateBudget, estimate_tokens, retry_after_seconds

logger = logging.getLogger(__name__)

MAX_RATE_LIMITED = 50  # 429s in a row for one call before giving up on it (the run can be resumed)
MAX_READ_FAILURES = 6


class Refused(Exception):
    """The API refused the request (4xx other than 429): nothing was written; the message says why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unknown(Exception):
    """A write whose outcome is unknown (timeout, 5xx, dropped connection): read back before resending."""


class GaveUp(Exception):
    """Too many 429s or read failures in a row: the thread is left for a later resume."""


@dataclass
class Counters:
    calls: int = 0
    writes: int = 0
    rate_limited: int = 0
    retries: int = 0
    waited: float = 0.0
    items_sent: int = 0
    orphans: int = 0
    recoveries: int = 0


def write_timeout() -> float:
    return float(getattr(settings, "BACKFILL_CALL_TIMEOUT_SECONDS", 30))


class Caller:
    """One worker's access to one connection: pacing, header learning, counters on the run row."""

    def __init__(self, connection: Connection, *, run_id: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client_for(connection, max_retries=0, timeout=write_timeout())
        self.budget = RateBudget.for_connection(connection, sleep=sleep)
        self.run_id = run_id
        self.sleep = sleep
        self.counters = Counters()
        self._unflushed: dict[str, float] = {}
        self._flushed_at = time.monotonic()
        self._lock = threading.Lock()

    FLUSH_SECONDS = 1.0
    _COLUMNS = {"calls": "calls", "writes": "writes", "rate_limited": "rate_limited", "retries": "retries",
                "waited": "waited_seconds", "items_sent": "items_sent", "orphans": "orphans",
                "recoveries": "recoveries"}

    def _count(self, **fields: int | float) -> None:
        """Count locally; the run row gets the sums about once a second (one UPDATE, not one per call)."""
        with self._lock:
            for key, value in fields.items():
                setattr(self.counters, key, getattr(self.counters, key) + value)
                if value:
                    self._unflushed[key] = self._unflushed.get(key, 0) + value
            due = time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._unflushed = self._unflushed, {}
            self._flushed_at = time.monotonic()
        if self.run_id and pending:
            BackfillRun.objects.filter(pk=self.run_id).update(
                **{self._COLUMNS[k]: F(self._COLUMNS[k]) + v for k, v in pending.items()})

    def _send(self, raw_call: Callable[[], Any], tokens: int, before_send: Callable[[], None] | None = None) -> Any:
        waited = self.budget.acquire(tokens=tokens)
        if before_send is not None:
            before_send()  # e.g. renew the thread's lease *after* the wait, right before the request goes
        raw = raw_call()
        self.budget.observe(raw.headers)
        self._count(calls=1, waited=waited)
        return raw.parse()

    def _rate_limited(self, exc: openai.APIStatusError, streak: int) -> None:
        headers = exc.response.headers if exc.response is not None else {}
        self.budget.observe(headers)
        if retry_after_seconds(headers) is None:  # no hint: back off exponentially, shared with every worker
            self.budget.penalize(min(2 ** streak, 30) * (0.5 + random.random()))
        self._count(calls=1, rate_limited=1, retries=1)
        if streak >= MAX_RATE_LIMITED:
            raise GaveUp(f"rate limited {streak} times in a row")

    def write(self, raw_call: Callable[[], Any], *, payload: Any, before_send: Callable[[], None] | None = None) -> Any:
        """Send a write; 429s are waited out and resent (nothing was done); anything unknown raises Unknown."""
        tokens = estimate_tokens(payload)
        streak = 0
        while True:
            try:
                result = self._send(raw_call, tokens, before_send)
                self._count(writes=1)
                return result
            except openai.RateLimitError as exc:
                streak += 1
                self._rate_limited(exc, streak)
            except openai.APIStatusError as exc:
                if exc.status_code >= 500 or exc.status_code in (408, 409):
                    self._count(calls=1, writes=1)
                    raise Unknown(describe_error(exc)) from exc
                self._count(calls=1, writes=1)
                raise Refused(describe_error(exc), exc.status_code) from exc
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                self._count(calls=1, writes=1)
                raise Unknown(describe_error(exc)) from exc

    def read(self, raw_call: Callable[[], Any], *, missing_ok: bool = False) -> Any:
        """A safe call (GET, or a DELETE where 'already gone' is success): retried on 429, 5xx and timeouts."""
        streak = failures = 0
        while True:
            try:
                return self._send(raw_call, 0)
            except openai.RateLimitError as exc:
                streak += 1
                self._rate_limited(exc, streak)
            except openai.NotFoundError:
                self._count(calls=1)
                if missing_ok:
                    return None
                raise
            except openai.APIStatusError as exc:
                self._count(calls=1)
                if exc.status_code < 500:
                    raise Refused(describe_error(exc), exc.status_code) from exc
                failures += 1
                self._retry_or_give_up(failures, exc)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                self._count(calls=1)
                failures += 1
                self._retry_or_give_up(failures, exc)

    def _retry_or_give_up(self, failures: int, exc: Exception) -> None:
        if failures >= MAX_READ_FAILURES:
            raise GaveUp(describe_error(exc)) from exc
        self._count(retries=1)
        self.sleep(min(0.25 * 2 ** failures, 8) * (0.5 + random.random()))

    # --- the calls --------------------------------------------------------------------------------------------

    def close(self) -> None:
        self.client.close()

    # The items travel in ``extra_body``: they were checked against the SDK's types when planned, and the SDK's
    # own request transform walks its whole item union recursively (about a tenth of a second per batch of 20,
    # most of a worker's CPU). ``extra_body`` takes precedence over the (empty) ``items`` argument.

    def create_conversation(self, items: list[dict[str, Any]], metadata: dict[str, str], *,
                            before_send: Callable[[], None] | None = None) -> Any:
        return self.write(lambda: self.client.conversations.with_raw_response.create(
            extra_body={"items": items, "metadata": metadata}), payload={"items": items, "metadata": metadata},
            before_send=before_send)

    def add_items(self, conversation_id: str, items: list[dict[str, Any]], *,
                  before_send: Callable[[], None] | None = None) -> Any:
        return self.write(lambda: self.client.conversations.items.with_raw_response.create(
            conversation_id, items=[], extra_body={"items": items}), payload={"items": items},
            before_send=before_send)

    def list_items(self, conversation_id: str, *, missing_ok: bool = False) -> list[dict[str, Any]] | None:
        """Every item of a conversation, oldest first (pages of 100); with ``missing_ok``, None when the
        conversation is gone (404)."""
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"order": "asc", "limit": 100}
            if after:
                kwargs["after"] = after
            page = self.read(lambda kw=kwargs: self.client.conversations.items.with_raw_response.list(
                conversation_id, **kw), missing_ok=missing_ok)
            if page is None:
                return None
            data = [item.model_dump(mode="json", exclude_none=True) for item in page.data]
            out.extend(data)
            if not page.has_more or not data:
                return out
            after = data[-1]["id"]

    def delete_item(self, conversation_id: str, item_id: str) -> None:
        self.read(lambda: self.client.conversations.items.with_raw_response.delete(item_id,
                                                                                   conversation_id=conversation_id),
                  missing_ok=True)

    def delete_conversation(self, conversation_id: str) -> None:
        self.read(lambda: self.client.conversations.with_raw_response.delete(conversation_id), missing_ok=True)

    def retrieve_conversation(self, conversation_id: str) -> Any:
        return self.read(lambda: self.client.conversations.with_raw_response.retrieve(conversation_id),
                         missing_ok=True)
