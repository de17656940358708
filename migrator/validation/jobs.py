"""The validation run job: a thin door onto ``services.runs.execute_run``."""

from __future__ import annotations

from migrator.core.jobs import job_handler
from migrator.core.services import ServiceError
from migrator.core.services.jobs import JobContext
from migrator.validation.models import ValidationRun
from migrator.validation.services import runs


@job_handler(runs.JOB_KIND, label="Validation run")
def run_validation(ctx: JobContext) -> dict:
    run_id = ctx.params.get("run_id")
    if not ValidationRun.objects.filter(pk=run_id).exists():
        raise ServiceError(f"Validation run #{run_id} no longer exists.")
    run = runs.execute_run(run_id=run_id, actor=ctx.actor, report=ctx.progress, log=ctx.log)
    return {"run_id": run.pk, "verdict": run.verdict, "status": run.status, "summary": run.summary,
            "url": run.get_absolute_url()}
