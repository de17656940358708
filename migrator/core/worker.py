"""Worker-side hooks: the main process's loop that says "this worker is alive" and runs the job reaper.

Liveness of *jobs* is not this loop's business: each running job heart-beats from the process that runs it
(``migrator.core.jobs.runner``). This loop registers the worker (node name, queues) for the System and job
pages, and reaps: queued jobs nobody picked up, running jobs whose process stopped.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import worker_process_init, worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()


def _consumed_queues(consumer: Any) -> list[str]:
    try:
        return sorted(q.name for q in consumer.task_consumer.queues)
    except AttributeError:  # no task consumer (yet): fall back to the configured queues
        return sorted(consumer.app.amqp.queues.consume_from or consumer.app.amqp.queues)


def _loop(hostname: str, queues: list[str]) -> None:
    from django.conf import settings
    from django.db import close_old_connections

    from migrator.celery import broker_choice
    from migrator.core.services.jobs import beat, reap_jobs

    while not _stop.is_set():
        try:
            close_old_connections()
            beat(hostname=hostname, broker=broker_choice().kind, queues=queues)
            report = reap_jobs()
            if report:
                logger.warning("job reaper: %s", report.summary())
        except Exception:  # a database hiccup must not kill the heartbeat thread
            logger.exception("worker heartbeat failed")
        _stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: object) -> None:
    hostname = getattr(sender, "hostname", None) or "worker"
    queues = _consumed_queues(sender)
    logger.info("migrator worker %s consumes queue(s) %s", hostname, ", ".join(queues))
    threading.Thread(target=_loop, args=(hostname, queues), name="migrator-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_: object) -> None:
    _stop.set()


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    from django.db import connections

    for conn in connections.all():
        conn.close()
