"""Worker-side hooks: the main process's loop that says "this worker is alive" and runs the job reaper.

Liveness of *jobs* is not this loop's business: each running job heart-beats from the process that runs it
(``migrator.core.jobs.runner``). This loop registers the worker (node name, queues) for the System and job
pages, and reaps: queued jobs nobody picked up, running jobs whose process stopped.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery.signals import worker_process_init, worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()
# The pool forks replacement children (after a hard time limit or a crash) from the main process. SQLite's
# lock bookkeeping is per process, so a connection open in this loop's thread at that moment would leave the
# child locked out of the database. Each pass of the loop holds this lock, and so does every fork.
_db_pass = threading.Lock()


def _before_fork() -> None:
    _db_pass.acquire()


def _after_fork_in_parent() -> None:
    _db_pass.release()


def _after_fork_in_child() -> None:
    global _db_pass
    _db_pass = threading.Lock()


def _consumed_queues(consumer: Any) -> list[str]:
    try:
        return sorted(q.name for q in consumer.task_consumer.queues)
    except AttributeError:  # no task consumer (yet): fall back to the configured queues
        return sorted(consumer.app.amqp.queues.consume_from or consumer.app.amqp.queues)


def _loop(hostname: str, queues: list[str]) -> None:
    from django.conf import settings
    from django.db import connections

    from migrator.celery import broker_choice
    from migrator.core.services.jobs import beat, reap_jobs

    while not _stop.is_set():
        with _db_pass:
            try:
                beat(hostname=hostname, broker=broker_choice().kind, queues=queues)
                report = reap_jobs()
                if report:
                    logger.warning("job reaper: %s", report.summary())
            except Exception:  # a database hiccup must not kill the heartbeat thread
                logger.exception("worker heartbeat failed")
            finally:
                connections.close_all()  # no connection open between passes, so none across a fork
        _stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: object) -> None:
    hostname = getattr(sender, "hostname", None) or "worker"
    queues = _consumed_queues(sender)
    logger.info("migrator worker %s consumes queue(s) %s", hostname, ", ".join(queues))
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
    threading.Thread(target=_loop, args=(hostname, queues), name="migrator-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_: object) -> None:
    _stop.set()


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    from django.db import connections

    for conn in connections.all():
        conn.close()
