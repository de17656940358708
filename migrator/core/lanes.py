"""A thread pool whose threads give their database connections back when the pool ends.

Django opens one connection per thread. ``close_old_connections()`` keeps a healthy connection younger than
``CONN_MAX_AGE`` (60 s on PostgreSQL), so connections opened by pool threads outlive the threads and are freed only
when the cyclic garbage collector next runs: a worker carrying many chunk jobs held one connection per lane per job
and exhausted PostgreSQL's ``max_connections`` (issue 21). ``LanePool`` remembers every connection its threads
opened and closes them once the threads have finished, so a job holds at most ``max_workers`` connections and none
after it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper


class LanePool(ThreadPoolExecutor):
    def __init__(self, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._opened: list[BaseDatabaseWrapper] = []
        self._opened_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return super().submit(self._tracked, fn, *args, **kwargs)

    def _tracked(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            with self._opened_lock:
                for conn in connections.all(initialized_only=True):
                    if not any(conn is known for known in self._opened):
                        self._opened.append(conn)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            self.close_connections()

    def close_connections(self) -> None:
        """Close what the (finished) lane threads opened; called from the thread that owns the pool."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            # The owning thread is gone; closing from here is safe once sharing is allowed for the call.
            conn.inc_thread_sharing()
            try:
                conn.close()
            finally:
                conn.dec_thread_sharing()
