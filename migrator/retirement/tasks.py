"""Celery beat entry points (scheduled in migrator.celery): each starts an ordinary job, so the daily runs
appear on the Jobs page under their system actor and are retried, reaped and timed out like any other."""

from __future__ import annotations

from celery import shared_task

SYNC_TASK = "migrator.retirement.daily_sync"


@shared_task(name=SYNC_TASK, ignore_result=True)
def daily_sync() -> None:
    from migrator.core.services.jobs import start_job
    from migrator.retirement.services.catalogue import SYNC_ACTOR

    start_job(kind="retirement.sync_models", actor=SYNC_ACTOR, subject_label="Daily model catalogue sync")


AUTOPILOT_TASK = "migrator.retirement.daily_autopilot"


@shared_task(name=AUTOPILOT_TASK, ignore_result=True)
def daily_autopilot() -> None:
    from migrator.core.services.jobs import start_job
    from migrator.retirement.services.autopilot import AUTOPILOT

    start_job(kind="retirement.autopilot", actor=AUTOPILOT, subject_label="Daily retirement autopilot")
