"""Worker side of webhook retries: each Celery worker sweeps for deliveries whose next attempt is due.

A retry is a new ``webhooks.deliver`` job started when its backoff has passed; the Delivery row, not a
delayed broker message, holds the schedule, so retries survive worker and broker restarts. Several workers may
sweep at once: ``services.schedule_due`` takes each delivery with a conditional update.
"""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()


def _loop() -> None:
    from django.conf import settings
    from django.db import close_old_connections

    from migrator.webhooks.services import schedule_due

    while not _stop.is_set():
        try:
            close_old_connections()
            queued = schedule_due()
            if queued:
                logger.info("queued %s webhook retr%s", queued, "y" if queued == 1 else "ies")
        except Exception:  # a database hiccup must not end retries for the worker's lifetime
            logger.exception("webhook retry sweep failed")
        _stop.wait(settings.WEBHOOK_SWEEP_SECONDS)


@worker_ready.connect(dispatch_uid="migrator.webhooks.sweeper")
def _start_sweeper(**_: object) -> None:
    threading.Thread(target=_loop, name="migrator-webhook-retries", daemon=True).start()


@worker_shutdown.connect(dispatch_uid="migrator.webhooks.sweeper_stop")
def _stop_sweeper(**_: object) -> None:
    _stop.set()
