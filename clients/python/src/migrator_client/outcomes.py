"""Outcome reports, off the request path: a bounded queue, one background sender, batches with an id.

``put`` never blocks and never raises: when the queue is full the outcome is dropped and counted
(``stats["dropped"]``). The sender posts batches of up to ``batch_size`` per flow to
``POST /api/v1/flows/<slug>/outcomes`` with a batch id; while migrator is down it keeps the batch and retries it
with backoff (same id, so a batch whose answer was lost is not counted twice), and the queue absorbs, then
drops, what arrives meanwhile.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from typing import Any

logger = logging.getLogger("migrator_client")


class Reporter:
    def __init__(self, *, base_url: str, token: str, timeout: float, max_queue: int = 10_000,
                 batch_size: int = 500, interval: float = 1.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.batch_size = batch_size
        self.interval = interval
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(maxsize=max_queue)
        self._cond = threading.Condition()
        self._unsent = 0  # queued or in a batch not yet accepted
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.stats = {"queued": 0, "sent": 0, "dropped": 0, "batches": 0, "failed_posts": 0, "rejected": 0}
        self._thread = threading.Thread(target=self._run, name="migrator-outcomes", daemon=True)
        self._thread.start()

    def put(self, slug: str, outcome: dict[str, Any]) -> None:
        if self._stop.is_set():
            self.stats["dropped"] += 1
            return
        with self._cond:
            self._unsent += 1
        try:
            self._queue.put_nowait((slug, outcome))
            self.stats["queued"] += 1
        except queue.Full:
            self.stats["dropped"] += 1
            self._done(1)

    def flush(self, timeout: float = 30.0) -> bool:
        """Send everything queued now; True when all of it was accepted (or dropped as invalid) in time."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._cond:
            while self._unsent > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
                self._wake.set()
        return True

    def close(self, timeout: float = 30.0) -> bool:
        flushed = self.flush(timeout)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        return flushed

    # --- the sender -----------------------------------------------------------------------------------

    def _done(self, n: int) -> None:
        with self._cond:
            self._unsent -= n
            self._cond.notify_all()

    def _take(self) -> dict[str, list[dict[str, Any]]]:
        by_flow: dict[str, list[dict[str, Any]]] = defaultdict(list)
        taken = 0
        while taken < self.batch_size:
            try:
                slug, outcome = self._queue.get_nowait()
            except queue.Empty:
                break
            by_flow[slug].append(outcome)
            taken += 1
        return by_flow

    def _run(self) -> None:
        pending: list[tuple[str, str, list[dict[str, Any]]]] = []  # (slug, batch id, outcomes) not yet accepted
        backoff = 0.0
        while True:
            if not pending:
                if self._queue.qsize() < self.batch_size:
                    self._wake.wait(self.interval)
                    self._wake.clear()
                pending = [(slug, uuid.uuid4().hex, rows) for slug, rows in self._take().items()]
                if not pending and self._stop.is_set():
                    return
            while pending:
                slug, batch_id, rows = pending[0]
                if self._post(slug, batch_id, rows):
                    pending.pop(0)
                    self._done(len(rows))
                    backoff = 0.0
                    continue
                if self._stop.is_set():  # closing with migrator down: drop and count, never hang the app
                    for _slug, _id, left in pending:
                        self.stats["dropped"] += len(left)
                        self._done(len(left))
                    pending = []
                    break
                backoff = min(30.0, max(0.5, backoff * 2))
                self._wake.wait(backoff)
                self._wake.clear()

    def _post(self, slug: str, batch_id: str, rows: list[dict[str, Any]]) -> bool:
        url = f"{self.base_url}/api/v1/flows/{urllib.parse.quote(slug)}/outcomes"
        data = json.dumps({"batch_id": batch_id, "outcomes": rows}).encode()
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                # Refused for good (bad token, unknown flow, invalid rows): retrying cannot help.
                self.stats["rejected"] += len(rows)
                logger.warning("migrator refused %d outcomes of %s: HTTP %s %s", len(rows), slug, exc.code,
                               exc.read()[:300])
                return True
            self.stats["failed_posts"] += 1
            return False
        except (OSError, ValueError):
            self.stats["failed_posts"] += 1
            return False
        self.stats["sent"] += len(rows)
        self.stats["batches"] += 1
        return True
