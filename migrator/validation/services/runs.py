"""Validation runs: start (a queued run + a Celery job), execute (the door onto ``engine``: replay, score, the five
points), cancel, and end one whose job died. What a run is evidence of (its configuration hash and state mode,
stale when either moves on) is ``standing``'s, and importable from here as before."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from migrator.core.actors import label_of, require, user_or_none
from migrator.core.confighash import config_hash
from migrator.core.models import Assistant, Connection
from migrator.core.release import make_release
from migrator.core.services import ServiceError, audit
from migrator.core.services import status as status_service
from migrator.core.status import FlowMode
from migrator.validation import batchpath, projection
from migrator.validation.checks import resolve
from migrator.validation.models import RUN_FINISHED, CaseResult, RunStatus, TestCase, TestSet, ValidationRun
from migrator.validation.services import engine
from migrator.validation.services.standing import (
    binding,
    candidate_version,
    evidence,
    is_stale,
    move_run,
    report_outcome,
)

__all__ = [
    "JOB_KIND", "MAX_CONCURRENCY", "MAX_REPEATS", "RunCancelled", "binding", "cancel_run", "candidate_version",
    "config_label_of", "create_run", "end_abandoned", "evidence", "execute_run", "is_stale",
    "parse_budget", "resolve_version", "start_run",
]

logger = logging.getLogger(__name__)

JOB_KIND = "validation.run"
MAX_REPEATS = 10
MAX_CONCURRENCY = 16


class RunCancelled(Exception):
    pass


# --- starting ---------------------------------------------------------------------------------------------------


def resolve_version(assistant: Assistant, *, version_id: int | None = None, version_number: int | None = None,
                     label: str = ""):
    from migrator.prompts.models import PromptLabel, PromptVersion

    if version_id:
        version = PromptVersion.objects.filter(pk=version_id, assistant=assistant).first()
        if version is None:
            raise ServiceError(f"Prompt version #{version_id} is not a version of {assistant.display_name}.")
        return version
    if version_number:
        version = PromptVersion.objects.filter(assistant=assistant, number=version_number).first()
        if version is None:
            raise ServiceError(f"{assistant.display_name} has no prompt version {version_number}.")
        return version
    if label:
        row = PromptLabel.objects.filter(assistant=assistant, name=label).select_related("version").first()
        if row is None:
            raise ServiceError(f"{assistant.display_name} has no version labelled {label!r}.")
        return row.version
    version = candidate_version(assistant)
    if version is None:
        raise ServiceError(f"{assistant.display_name} has no prompt version to validate yet; generate one first.")
    return version


def create_run(*, actor, test_set: TestSet, connection: Connection, config: dict[str, Any], config_label: str,
               prompt_version=None, mode: str = "", repeats: int = 1, concurrency: int = 4,
               source: str = "ui", truncation: str = "", store: bool | None = None,
               budget_usd: Any = None, path: str = "direct") -> ValidationRun:
    """A queued run bound to ``config`` (hash) and the mode; the caller enqueues or executes it."""
    require(actor, "core.run_validation", action="run validations")
    flow = test_set.flow
    mode = mode or (flow.mode if flow is not None and flow.mode else FlowMode.STATELESS)
    if mode not in FlowMode.values:
        raise ServiceError(f"Unknown state mode {mode!r}; use one of {', '.join(FlowMode.values)}.")
    if not 1 <= int(repeats) <= MAX_REPEATS:
        raise ServiceError(f"Repeats must be between 1 and {MAX_REPEATS}.")
    if not 1 <= int(concurrency) <= MAX_CONCURRENCY:
        raise ServiceError(f"Concurrency must be between 1 and {MAX_CONCURRENCY}.")
    if path not in ("direct", "batch"):
        raise ServiceError(f"Unknown path {path!r}; use direct or batch.")
    if path == "batch" and mode not in batchpath.MODES:
        raise ServiceError(f"The Batch API path sends independent turns only (stateless or chained responses); "
                           f"{mode} mode needs a conversation created per case, so run it direct.")
    if not isinstance(config, dict) or not config.get("model"):
        raise ServiceError("The configuration has no model: it must be keyword arguments for responses.create.")
    version = test_set.current_version
    if version is None or not version.case_ids:
        raise ServiceError(f"Test set {test_set.name} has no cases to run.")
    # The run replays a release: the flow's truncation and store (or the given ones) wrap the configuration
    # exactly as the config API will serve them, so what was validated is what production sends.
    if store is None:
        store = flow.store if flow is not None else config.get("store", True) is not False
    truncation = truncation or (flow.truncation if flow is not None else str(config.get("truncation") or "disabled"))
    stream = bool(flow is not None and flow.streams)
    release = make_release(config=config, mode=mode, truncation=truncation, store=store, stream=stream)
    budget = parse_budget(budget_usd)
    plan = projection.project(cases=TestCase.objects.filter(pk__in=version.case_ids), config=config,
                              repeats=int(repeats), batch=path == "batch")
    if budget is not None and plan["cost_usd"] is None:
        raise ServiceError(f"A budget cannot be kept on {config.get('model')}: its price is unknown (no source we "
                           "hold states it), so what the run spends cannot be counted. Run without a budget, or add "
                           "the model's price to the pricing table with its source.")
    with transaction.atomic():
        run = ValidationRun.objects.create(
            projection=plan, budget_usd=budget, path=path,
            test_set=test_set, test_set_version=version, case_ids=list(version.case_ids),
            assistant_id=test_set.assistant_id, flow=flow, prompt_version=prompt_version, config_label=config_label,
            config=config, config_hash=config_hash(config), mode=mode, store=store, connection=connection,
            truncation=release.truncation, release_hash=release.hash,
            connection_name=connection.name, repeats=repeats, concurrency=concurrency,
            # a flow that streams in production is replayed streamed (time to first token, assembled events)
            options={"checks": resolve(test_set.checks), "stream": stream},
            cases_total=len(version.case_ids) * repeats,
            source=source, started_by=user_or_none(actor), actor_label=label_of(actor),
        )
        audit.record(actor=actor, verb="migrator.validation.run_created", obj=run,
                     data={"test_set": test_set.pk, "version": version.number, "config_hash": run.config_hash,
                           "release": run.release_hash, "mode": mode, "config": config_label, "path": path})
    return run


def parse_budget(value: Any) -> Decimal | None:
    """A hard budget in USD (None: no budget). Refuses what is not a positive amount, saying so."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation:
        raise ServiceError(f"Budget {value!r} is not an amount in USD (for example 2.50).") from None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("1000000"):
        raise ServiceError(f"Budget {value!r} must be more than 0 and less than 1,000,000 USD.")
    return amount.quantize(Decimal("0.0001"))


def start_run(*, actor, test_set_id: int, connection_id: int, version_id: int | None = None, mode: str = "",
              repeats: int = 1, concurrency: int = 4, budget_usd: Any = None, path: str = "direct") -> ValidationRun:
    """Queue a run of a test set through a prompt version (default: the one a cutover would serve)."""
    from migrator.core.services.jobs import start_job

    require(actor, "core.run_validation", action="run validations")
    test_set = TestSet.objects.select_related("flow", "assistant").filter(pk=test_set_id).first()
    if test_set is None:
        raise ServiceError(f"Test set #{test_set_id} does not exist.")
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        raise ServiceError("Choose a connection to replay on.")
    version = resolve_version(test_set.assistant, version_id=version_id)
    with transaction.atomic():
        run = create_run(actor=actor, test_set=test_set, connection=connection, config=dict(version.config or {}),
                         config_label=f"v{version.number}", prompt_version=version, mode=mode, repeats=repeats,
                         concurrency=concurrency, budget_usd=budget_usd, path=path)
        job = start_job(kind=JOB_KIND, actor=actor, params={"run_id": run.pk}, subject=run,
                        subject_label=f"Validation run #{run.pk}: {test_set.name} on {config_label_of(run)}")
        run.job = job
        run.save(update_fields=["job"])
    return run


def config_label_of(run: ValidationRun) -> str:
    return f"{run.config_label}, {run.mode}"


def cancel_run(*, actor, run_id: int) -> ValidationRun:
    from migrator.core.services.jobs import request_cancel

    require(actor, "core.run_validation", action="cancel validation runs")
    run = ValidationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise ServiceError(f"Run #{run_id} does not exist.")
    if run.is_finished:
        raise ServiceError(f"Run #{run.pk} has already ended ({run.get_status_display().lower()}).")
    if run.job_id:
        request_cancel(job_id=run.job_id, actor=actor)
    if run.status == RunStatus.QUEUED:
        move_run(run, RunStatus.CANCELLED, summary="Cancelled before it started.")
        status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
    audit.record(actor=actor, verb="migrator.validation.run_cancel_requested", obj=run)
    return run



# --- executing ---------------------------------------------------------------------------------------------------


def execute_run(*, run_id: int, actor, report: Callable[[int, int, str], None] | None = None,
                log: Callable[[str], None] | None = None, client=None, resume: bool = False) -> ValidationRun:
    """Replay every case (``repeats`` times, ``concurrency`` at once), free-run sample threads, score, decide.

    ``report(done, total, message)`` may raise to cancel (a job's ``progress`` raises JobCancelled). The HTTP
    work runs in a thread pool; every database write happens on this thread.
    """
    log = log or (lambda message: logger.info("validation run %s: %s", run_id, message))
    run = ValidationRun.objects.select_related("test_set", "connection", "flow").get(pk=run_id)
    # A batch-path run whose worker died is picked up where it stood (its jobs and batch are stored on it).
    resuming = resume and run.path == "batch" and run.status == RunStatus.RUNNING
    if not resuming and not move_run(run, RunStatus.RUNNING):
        raise ServiceError(f"Run #{run.pk} is {run.get_status_display().lower()}, not queued.")
    if not resuming:
        report_outcome(run, "validation.run_started", actor=actor)
    try:
        return engine.execute(run, actor=actor, report=report, log=log, client=client)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, RunCancelled)) or type(exc).__name__ == "JobCancelled":
            move_run(run, RunStatus.CANCELLED, summary="Cancelled at the user's request; results so far are kept.")
            status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
            raise
        move_run(run, RunStatus.ERROR, error=f"{type(exc).__name__}: {exc}"[:5000],
                 summary=f"The run could not finish: {exc}"[:1000])
        report_outcome(run, "validation.run_failed", actor=actor)
        raise


def end_abandoned(*, job) -> ValidationRun | None:
    """The job carrying a run ended without finishing it (its worker was killed and the job reaped, or it was
    never picked up): the run ends "could not run" with the job's reason, keeping the results it stored, and the
    assistant leaves "Validating". Idempotent: a run that already ended is left alone."""
    from migrator.core.actors import system

    run = ValidationRun.objects.filter(pk=(job.params or {}).get("run_id")).first()
    if run is None or run.status in RUN_FINISHED:
        return run
    done = CaseResult.objects.filter(run=run).count()
    reason = (job.error or "its job ended").strip()
    if not move_run(run, RunStatus.ERROR, error=f"Job #{job.pk} ended without finishing the run: {reason}"[:5000],
                    summary=(f"The run stopped after {done} result(s): its job #{job.pk} ended ({reason}) "
                             "Start a new run; the results so far are kept.")[:1000]):
        return run
    actor = system("validation:reaper", "validation run reaper")
    report_outcome(run, "validation.run_failed", actor=actor)
    status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
    return run
