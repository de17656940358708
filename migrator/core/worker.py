"""Worker-side hooks: a heartbeat thread that also reaps jobs whose worker died."""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_process_init, worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()


def _loop() -> None:
    from django.conf import settings
    from django.db import close_old_connections

    from migrator.celery import broker_choice
    from migrator.core.services.jobs import beat, reap_stale_jobs

    while not _stop.is_set():
        try:
            close_old_connections()
            beat(broker=broker_choice().kind)
            reap_stale_jobs()
        except Exception:  # a database hiccup must not kill the heartbeat thread
            logger.exception("worker heartbeat failed")
        _stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


@worker_ready.connect
def _start_heartbeat(**_: object) -> None:
    threading.Thread(target=_loop, name="migrator-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_: object) -> None:
    _stop.set()


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    from django.db import connections

    for conn in connections.all():
        conn.close()
