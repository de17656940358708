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


MAX_RESUMES = 3


def _abandoned(job) -> None:
    """A batch-path run resumes by itself (its jobs and the batch in flight are stored on it); a direct run, or
    a batch run whose workers keep dying, ends "could not run" with its results kept."""
    from migrator.core.actors import actor_for_job
    from migrator.core.services import audit
    from migrator.core.services.jobs import start_job
    from migrator.validation.models import RunStatus

    params = dict(job.params or {})
    run = ValidationRun.objects.filter(pk=params.get("run_id")).first()
    tries = int(params.get("resume") or 0) + 1
    if run is None or run.path != "batch" or run.status != RunStatus.RUNNING or tries > MAX_RESUMES:
        runs.end_abandoned(job=job)
        return
    again = start_job(kind=job.kind, actor=actor_for_job(job), params={**params, "resume": tries}, subject=run,
                      subject_label=job.subject_label or f"Validation run #{run.pk}")
    ValidationRun.objects.filter(pk=run.pk).update(job=again)
    audit.record(actor=actor_for_job(job), verb="migrator.validation.run_resumed", obj=run,
                 data={"dead_job": job.pk, "new_job": again.pk, "try": tries, "batch": (run.batch or {}).get("batch_id")})


@job_handler(runs.JOB_KIND, label="Validation run", unit="cases", on_abandoned=_abandoned, **_LIMITS)
def run_validation(ctx: JobContext) -> dict:
    run = ValidationRun.objects.filter(pk=ctx.params.get("run_id")).first()
    if run is None:
        raise ServiceError(f"Validation run #{ctx.params.get('run_id')} no longer exists.")
    ctx.produced(run, f"Validation run #{run.pk}")
    run = runs.execute_run(run_id=run.pk, actor=ctx.actor, report=ctx.progress, log=ctx.log,
                           resume=bool(ctx.params.get("resume")))
    return {"run_id": run.pk, "verdict": run.verdict, "status": run.status, "summary": run.summary,
            "url": run.get_absolute_url()}
