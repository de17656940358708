"""Worker-side loop of guarded rollouts: evaluate every guard each ``GUARD_EVAL_SECONDS`` (a step whose traffic
stopped still gets judged, and soak times end) and trim raw outcomes past their window."""

from __future__ import annotations

import logging
import threading
import time

from celery.signals import worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()
TRIM_EVERY_SECONDS = 600


def _loop() -> None:
    from django.conf import settings
    from django.db import close_old_connections

    from migrator.rollouts.services import guard, outcomes

    last_trim = 0.0
    while not _stop.wait(settings.GUARD_EVAL_SECONDS):
        try:
            close_old_connections()
            guard.evaluate_all()
            if time.monotonic() - last_trim > TRIM_EVERY_SECONDS:
                outcomes.trim()
                last_trim = time.monotonic()
        except Exception:  # the next round tries again
            logger.exception("the rollout guard loop failed")


@worker_ready.connect(dispatch_uid="migrator.rollouts.guard_loop")
def _start(**_: object) -> None:
    threading.Thread(target=_loop, name="migrator-rollout-guard", daemon=True).start()


@worker_shutdown.connect(dispatch_uid="migrator.rollouts.guard_loop_stop")
def _stop_loop(**_: object) -> None:
    _stop.set()
