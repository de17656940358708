"""Background work of backfills: a coordinator per start/resume, chunk jobs that carry threads, rollbacks."""

from __future__ import annotations

from typing import Any

from migrator.backfill.models import BackfillRun, ThreadBackfill
from migrator.backfill.services import rollback, runs
from migrator.core.jobs import job_handler
from migrator.core.jobs.context import JobContext
from migrator.core.services import ServiceError


def _resume(job) -> None:
    runs.resume_abandoned(job=job)


@job_handler("backfill.run", label="Backfill run", on_abandoned=_resume)
def run_backfill(ctx: JobContext) -> dict[str, Any]:
    return runs.dispatch(actor=ctx.actor, run_id=int(ctx.params["run_id"]), log=ctx.log)


@job_handler("backfill.chunk", label="Backfill threads", on_abandoned=_resume)
def backfill_chunk(ctx: JobContext) -> dict[str, Any]:
    row_ids = [int(i) for i in ctx.params["row_ids"]]
    ctx.progress(0, len(row_ids), "starting")
    return runs.process_rows(run_id=int(ctx.params["run_id"]), row_ids=row_ids, owner=f"job{ctx.job_id}",
                             progress=lambda done, total, msg: ctx.progress(done, total, msg))


# Deleting is one call per item: a large run takes long. Each thread is committed on its own, so a job that hits
# its limit leaves a consistent state and is simply started again.
@job_handler("backfill.rollback", label="Backfill rollback", soft_time_limit=6 * 3600 - 60, time_limit=6 * 3600)
def rollback_backfill(ctx: JobContext) -> dict[str, Any]:
    run = BackfillRun.objects.get(pk=int(ctx.params["run_id"]))
    qs = ThreadBackfill.objects.filter(run=run, status__in=rollback.ROLLABLE).order_by("id")
    if ctx.params.get("thread_ids"):
        qs = qs.filter(thread__legacy_id__in=ctx.params["thread_ids"])
    total = qs.count()
    result = rollback.rollback_rows(actor=ctx.actor, rows=list(qs),
                                    progress=lambda n, msg: ctx.progress(n, total, f"rolled back {msg}"))
    refused = result["not_rolled_back"]
    if refused:
        # Not a success: say which threads are left and why; they stay rollable, so the run page's
        # "Roll back" starts again with exactly those.
        for entry in refused[:200]:
            ctx.log(f"not rolled back: {entry['thread_id']}: {entry['why']}")
        raise ServiceError(f"{result['rolled_back']} thread(s) rolled back, {len(refused)} not: "
                           + "; ".join(f"{e['thread_id']} ({e['why']})" for e in refused[:5])
                           + (" …" if len(refused) > 5 else "")
                           + ". Fix the cause, then roll the run back again: only those threads are left.")
    return result
