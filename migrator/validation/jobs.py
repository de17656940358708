"""The validation run job: a thin door onto ``services.runs.execute_run``."""

from __future__ import annotations

from migrator.core.jobs import job_handler
from migrator.core.jobs.context import JobContext
from migrator.core.services import ServiceError
from migrator.validation.models import ValidationRun
from migrator.validation.services import runs

# A run against a real connection may be long (thousands of cases under a rate budget); a soft limit still
# stops it cleanly (the run ends "could not run", never passed) before the hard one.
_LIMITS = {"soft_time_limit": 4 * 3600, "time_limit": 4 * 3600 + 300}


@job_handler(runs.JOB_KIND, label="Validation run", unit="cases",
             on_abandoned=lambda job: runs.end_abandoned(job=job), **_LIMITS)
def run_validation(ctx: JobContext) -> dict:
    run = ValidationRun.objects.filter(pk=ctx.params.get("run_id")).first()
    if run is None:
        raise ServiceError(f"Validation run #{ctx.params.get('run_id')} no longer exists.")
    ctx.produced(run, f"Validation run #{run.pk}")
    run = runs.execute_run(run_id=run.pk, actor=ctx.actor, report=ctx.progress, log=ctx.log)
    return {"run_id": run.pk, "verdict": run.verdict, "status": run.status, "summary": run.summary,
            "url": run.get_absolute_url()}
