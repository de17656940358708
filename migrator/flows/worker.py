"""Worker-side loop of the flows app: flush the config API's call counts into the database periodically."""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()


def _loop() -> None:
    from django.conf import settings
    from django.db import close_old_connections

    from migrator.flows.services import traffic

    while not _stop.wait(settings.TRAFFIC_FLUSH_SECONDS):
        try:
            close_old_connections()
            traffic.flush()
        except Exception:  # the counts stay in their store and the next round retries them
            logger.exception("flushing config API call counts failed")
    try:
        traffic.flush()  # a clean shutdown leaves nothing behind
    except Exception:
        logger.exception("flushing config API call counts at shutdown failed")


@worker_ready.connect
def _start(**_: object) -> None:
    threading.Thread(target=_loop, name="migrator-traffic-flush", daemon=True).start()


@worker_shutdown.connect
def _stop_loop(**_: object) -> None:
    _stop.set()
