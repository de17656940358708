from __future__ import annotations

from celery import shared_task


@shared_task(name="migrator.run_job", acks_late=True, ignore_result=True)
def run_job(job_id: int) -> None:
    """Thin door: look up the Job by id and run its handler. All logic lives in services."""
    from migrator.core.services.jobs import execute_job

    execute_job(job_id)
