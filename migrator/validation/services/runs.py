"""Validation runs: start (a queued run + a Celery job), execute (replay, score, the five points), cancel, and
what a run is evidence of (its configuration hash and state mode, stale when either moves on)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from migrator.core.actors import label_of, require, user_or_none
from migrator.core.confighash import config_hash, short
from migrator.core.lanes import LanePool
from migrator.core.models import Assistant, Connection, Flow
from migrator.core.openai_client import client_for
from migrator.core.ratebudget import RateBudget
from migrator.core.release import make_release
from migrator.core.services import ServiceError, audit
from migrator.core.services import status as status_service
from migrator.core.status import FlowMode, move
from migrator.validation import batchpath, projection
from migrator.validation import points as points_module
from migrator.validation.cases import config_contract
from migrator.validation.checks import CaseFacts, Scorer, resolve
from migrator.validation.judge import make_embedder, make_judge
from migrator.validation.models import (
    RUN_FINISHED,
    CaseResult,
    RunStatus,
    TestCase,
    TestSet,
    ValidationRun,
    Verdict,
)
from migrator.validation.replay import CaseInput, Replayer, TurnOutcome
from migrator.validation.services import batchruns

logger = logging.getLogger(__name__)

JOB_KIND = "validation.run"
MAX_REPEATS = 10
MAX_CONCURRENCY = 16
FREE_RUN_THREADS = 3
_CLIENT_OPTIONS = {"max_retries": 0, "timeout": 120}  # the engine retries itself, under the rate budget


class RunCancelled(Exception):
    pass


# --- which configuration a flow stands on --------------------------------------------------------------------


def candidate_version(assistant: Assistant | int):
    """The version a cutover would put forward: the approved label, else the draft under review."""
    from migrator.prompts.models import LabelName
    from migrator.prompts.selectors import current_version, labels_for

    approved = labels_for(assistant).get(LabelName.APPROVED)
    return approved.version if approved is not None else current_version(assistant)


def binding(flow: Flow) -> tuple[Any, str, str]:
    """(version, config hash, mode) the flow stands on now; hash "" when it has no version yet."""
    version = candidate_version(flow.assistant_id)
    return version, (config_hash(version.config) if version is not None else ""), (flow.mode or FlowMode.STATELESS)


def is_stale(run: ValidationRun) -> str:
    """Why ``run`` no longer speaks for its flow (or assistant) now: "" while it still does."""
    if run.flow_id:
        flow = Flow.objects.filter(pk=run.flow_id).first()
        if flow is None:
            return "the flow no longer exists"
        version, digest, mode = binding(flow)
        if digest != run.config_hash:
            now = f"v{version.number} (sha256 {short(digest)})" if version is not None else "no version"
            return f"the configuration changed: this run replayed sha256 {short(run.config_hash)}, the flow now uses {now}"
        if mode != run.mode:
            return f"the flow's state mode changed from {run.mode} to {mode}"
        if flow.store != run.store:
            return f"the flow's store setting changed from {str(run.store).lower()} to {str(flow.store).lower()}"
        if flow.truncation != run.truncation:
            return f"the flow's truncation changed from {run.truncation} to {flow.truncation}"
        if bool(flow.streams) != bool(run.options.get("stream")):
            return ("production now streams this flow; this run did not stream" if flow.streams
                    else "production no longer streams this flow; this run streamed")
        return ""
    version = candidate_version(run.assistant_id)
    if version is None or config_hash(version.config) != run.config_hash:
        return "the assistant's configuration changed since this run"
    return ""


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
        _move(run, RunStatus.CANCELLED, summary="Cancelled before it started.")
        status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
    audit.record(actor=actor, verb="migrator.validation.run_cancel_requested", obj=run)
    return run


def _move(run: ValidationRun, to: str, **fields: Any) -> bool:
    """Move the run's status along RUN_TRANSITIONS (core's conditional update, so two movers cannot both win)."""
    if to == RunStatus.RUNNING:
        fields.setdefault("started_at", timezone.now())
    elif to in RUN_FINISHED:
        fields.setdefault("finished_at", timezone.now())
    return move(run, to, any_source=True, **fields)


# --- executing --------------------------------------------------------------------------------------------------


def _budget_for(connection: Connection, log: Callable[[str], None]) -> RateBudget:
    budget = RateBudget.for_connection(connection)
    limits = budget.limits()
    if limits.rpm or limits.tpm:
        log(f"Sharing {connection.name}'s rate budget ({limits.rpm or '∞'} requests, {limits.tpm or '∞'} tokens a "
            f"minute, {limits.source}) with every other worker")
    return budget


def _case_input(case: TestCase) -> CaseInput:
    return CaseInput(key=case.key, history=case.history or [], user_input=case.user_input or [],
                     expected_tool_calls=case.expected_tool_calls or [])


def _contract(run: ValidationRun, test_set: TestSet | None) -> tuple[dict[str, Any], str]:
    """The contract answers must meet: the configuration's own schema; a recorded one it dropped is a failure."""
    own = config_contract(run.config)
    recorded = (test_set.contract if test_set is not None else {}) or {}
    if own:
        return own, ""
    if recorded.get("type") == "json_schema":
        return recorded, (f"the configuration sends no output schema, but the recorded answers followed the "
                          f"'{recorded.get('name')}' schema (text.format was dropped)")
    return recorded, ""


class _Progress:
    """Counts results and reports them (job progress + run counters) at most a few times a second."""

    def __init__(self, run: ValidationRun, report: Callable[[int, int, str], None] | None) -> None:
        self.run = run
        self.report = report
        self.done = self.passed = self.failed = 0
        self.spent = 0.0
        self._last = 0.0

    def add(self, verdict: str, *, force: bool = False, cost: float | None = None) -> None:
        if verdict:
            self.done += 1
            self.passed += verdict == Verdict.PASS
            self.failed += verdict == Verdict.FAIL
        self.spent += cost or 0.0
        now = time.monotonic()
        if force or now - self._last > 0.3 or self.done == self.run.cases_total:
            self._last = now
            ValidationRun.objects.filter(pk=self.run.pk).update(
                cases_done=self.done, cases_passed=self.passed, cases_failed=self.failed,
                spent_usd=round(self.spent, 8))
            if self.report is not None:
                self.report(self.done, self.run.cases_total,
                            f"{self.done}/{self.run.cases_total} cases · {self.passed} passing · {self.failed} failing")


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
    if not resuming and not _move(run, RunStatus.RUNNING):
        raise ServiceError(f"Run #{run.pk} is {run.get_status_display().lower()}, not queued.")
    if not resuming:
        _report_outcome(run, "validation.run_started", actor=actor)
    try:
        return _execute(run, actor=actor, report=report, log=log, client=client)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, RunCancelled)) or type(exc).__name__ == "JobCancelled":
            _move(run, RunStatus.CANCELLED, summary="Cancelled at the user's request; results so far are kept.")
            status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
            raise
        _move(run, RunStatus.ERROR, error=f"{type(exc).__name__}: {exc}"[:5000],
              summary=f"The run could not finish: {exc}"[:1000])
        _report_outcome(run, "validation.run_failed", actor=actor)
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
    if not _move(run, RunStatus.ERROR, error=f"Job #{job.pk} ended without finishing the run: {reason}"[:5000],
                 summary=(f"The run stopped after {done} result(s): its job #{job.pk} ended ({reason}) "
                          "Start a new run; the results so far are kept.")[:1000]):
        return run
    actor = system("validation:reaper", "validation run reaper")
    _report_outcome(run, "validation.run_failed", actor=actor)
    status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
    return run


def _execute(run: ValidationRun, *, actor, report, log, client) -> ValidationRun:
    if run.connection is None:
        raise ServiceError("The run's connection no longer exists.")
    cases = TestCase.objects.in_bulk(run.case_ids)
    ordered = [cases[i] for i in run.case_ids if i in cases]
    if len(ordered) != len(run.case_ids):
        raise ServiceError("Some cases of this run's test set version no longer exist.")
    settings = run.options.get("checks") or resolve({})
    client = client or client_for(run.connection, **_CLIENT_OPTIONS)
    budget = _budget_for(run.connection, log)
    replayer = Replayer(client, release=make_release(config=run.config, mode=run.mode, truncation=run.truncation,
                                                     store=run.store, stream=bool(run.options.get("stream"))),
                        budget=budget,
                        stream=bool(run.options.get("stream")))
    contract, contract_missing = _contract(run, run.test_set)
    scorer = Scorer(settings, embed=make_embedder(client, settings) if settings["embedding_similarity"]["enabled"]
                    else None, judge=make_judge(client, settings, run.config) if settings["llm_judge"]["enabled"]
                    else None)
    model = str(run.config.get("model") or "")
    log(f"Replaying {len(ordered)} case(s) × {run.repeats} through {run.config_label} (sha256 "
        f"{short(run.config_hash)}) in {run.mode} mode on {run.connection_name}, {run.concurrency} at a time")

    def facts_of(case: TestCase) -> CaseFacts:
        return CaseFacts(expected_text=case.expected_text, expected_tool_calls=case.expected_tool_calls or [],
                         expected_json=case.expected_json, expectations=case.expectations or [],
                         contract=contract, contract_missing=contract_missing, model=model)

    def work(case: TestCase) -> tuple[TurnOutcome, tuple, float]:
        outcome = replayer.replay_case(_case_input(case))
        started = time.thread_time()
        scored = scorer.score(facts_of(case), outcome)
        return outcome, scored, time.thread_time() - started

    progress = _Progress(run, report)
    progress.add("", force=True)
    limit = float(run.budget_usd) if run.budget_usd is not None else None
    if run.path == "batch":
        return _execute_batch(run, ordered, replayer, client, scorer, facts_of, model, progress, limit, settings,
                              contract, contract_missing, actor=actor, log=log)
    stopped = False
    forced: dict[str, TurnOutcome] = {}
    own_cpu = sdk_cpu = api_seconds = 0.0
    buffer: list[CaseResult] = []
    flushed = time.monotonic()
    jobs = [(case, repeat) for repeat in range(run.repeats) for case in ordered]

    def flush() -> None:
        # Results are written in batches: one commit per result would cost more than replaying it.
        nonlocal buffer, flushed
        if buffer:
            CaseResult.objects.bulk_create(buffer)
            buffer, flushed = [], time.monotonic()

    with LanePool(max_workers=run.concurrency, thread_name_prefix=f"validation-{run.pk}") as pool:
        pending: dict[Future, tuple[TestCase, int]] = {}
        queue = iter(jobs)
        try:
            for case, repeat in queue:
                pending[pool.submit(work, case)] = (case, repeat)
                if len(pending) >= run.concurrency * 2:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    case, repeat = pending.pop(future)
                    outcome, (verdict, score, checks, reasons), scoring = future.result()
                    handled = time.thread_time()
                    if repeat == 0:
                        forced[case.key] = outcome
                    result = _result(run, case, repeat, outcome, verdict, score, checks, reasons, model)
                    buffer.append(result)
                    if len(buffer) >= 50 or time.monotonic() - flushed > 1.0:
                        flush()
                    progress.add(verdict, cost=result.cost_usd)
                    if limit is not None and progress.spent >= limit:
                        stopped = True  # no new case starts; the ones in flight finish and are kept
                    nxt = None if stopped else next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(work, nxt[0])] = nxt
                    # Migrator's own CPU: requests built and read outside the SDK, matching, scoring, saving.
                    own_cpu += (outcome.cpu_seconds - outcome.sdk_cpu_seconds) + scoring + time.thread_time() - handled
                    sdk_cpu += outcome.sdk_cpu_seconds
                    api_seconds += outcome.api_seconds
            flush()
        except BaseException:
            for future in pending:
                future.cancel()
            flush()  # what was replayed is kept, also when the run is cancelled
            raise
    log(f"Cases done: {progress.passed} passing, {progress.failed} failing")
    if stopped:
        progress.add("", force=True)
        return _budget_reached(run, progress, actor=actor, log=log)
    free_runs = _free_runs(run, replayer, ordered, forced, settings, log, between=lambda: progress.add("", force=True))
    n = len(jobs) or 1
    timing = {"overhead_ms_per_case": round(1000 * own_cpu / n, 3), "sdk_cpu_ms_per_case": round(1000 * sdk_cpu / n, 3),
              "api_ms_per_case": round(1000 * api_seconds / n, 3),
              "overhead_share": round(own_cpu / (own_cpu + api_seconds), 4) if own_cpu + api_seconds else None}
    return _finish(run, ordered, free_runs, contract, contract_missing, actor=actor, log=log,
                   timing={"path": "direct", **timing})


def _execute_batch(run: ValidationRun, ordered: list[TestCase], replayer: Replayer, client, scorer: Scorer,
                   facts_of, model: str, progress: _Progress, limit: float | None, settings: dict, contract: dict,
                   contract_missing: str, *, actor, log: Callable[[str], None]) -> ValidationRun:
    """The cases through the Batch API (``batchruns``), then the free runs direct (they carry state turn by turn,
    which a batch cannot), then the same verdict as the direct path."""
    for verdict, cost in run.results.values_list("verdict", "cost_usd"):  # resumed: count what is stored
        progress.add(verdict, cost=cost)
    log(f"Sending {len(ordered)} case(s) × {run.repeats} through the Batch API")
    stopped = batchruns.replay(
        run, ordered=ordered, replayer=replayer, client=client, case_input=_case_input, progress=progress,
        limit=limit, log=log,
        score=lambda case, outcome: _result(run, case, 0, outcome, *scorer.score(facts_of(case), outcome), model))
    if stopped:
        progress.add("", force=True)
        return _budget_reached(run, progress, actor=actor, log=log)
    forced = {r.case.key: TurnOutcome(text=r.answer_text) for r in run.results.filter(repeat=0).select_related("case")}
    free_runs = _free_runs(run, replayer, ordered, forced, settings, log, between=lambda: progress.add("", force=True))
    return _finish(run, ordered, free_runs, contract, contract_missing, actor=actor, log=log,
                   timing={"path": "batch", "batches": len((run.batch or {}).get("batches") or [])})


def _result(run: ValidationRun, case: TestCase, repeat: int, outcome: TurnOutcome, verdict: str,
            score: float, checks: list, reasons: list, model: str) -> CaseResult:
    from migrator.validation.cases import parse_json
    from migrator.validation.pricing import estimate_cost

    ok, value = parse_json(outcome.text)
    return CaseResult(
        run=run, case=case, repeat=repeat, verdict=verdict, score=round(score, 4), checks=checks, reasons=reasons,
        answer_text=outcome.text, answer_json=value if ok else None, refusal=outcome.refusal,
        tool_calls=outcome.tool_calls, unmatched_calls=outcome.unmatched, live_tools=outcome.live_tools,
        latency_ms=round(outcome.total_seconds * 1000), api_ms=round(outcome.api_seconds * 1000),
        ttft_ms=round(outcome.ttft_seconds * 1000) if outcome.ttft_seconds is not None else None,
        input_tokens=outcome.input_tokens, output_tokens=outcome.output_tokens,
        cost_usd=estimate_cost(model, outcome.input_tokens, outcome.output_tokens),
        response_ids=outcome.response_ids, error=outcome.error,
    )


def _free_runs(run: ValidationRun, replayer: Replayer, ordered: list[TestCase], forced: dict[str, TurnOutcome],
               settings: dict, log: Callable[[str], None], between: Callable[[], None]) -> list[dict[str, Any]]:
    """Whole threads turn by turn: the sample workflow thread first, then other multi-turn threads."""
    if run.test_set is None:
        return []
    recorded = [c for c in ordered if c.thread_legacy_id]
    by_thread: dict[str, list[TestCase]] = defaultdict(list)
    # Every recorded turn of a drawn thread (excluded ones too: the user said them, state must carry them).
    for case in run.test_set.cases.filter(thread_legacy_id__in={c.thread_legacy_id for c in recorded}).order_by(
            "turn", "id"):
        if all(c.turn != case.turn for c in by_thread[case.thread_legacy_id]):
            by_thread[case.thread_legacy_id].append(case)
    sample = run.test_set.sample_thread_id if run.test_set.sample_thread_id in by_thread else ""
    others = sorted((t for t in by_thread if t != sample and len(by_thread[t]) > 1),
                    key=lambda t: (-len(by_thread[t]), t))
    chosen = ([sample] if sample else []) + others[: FREE_RUN_THREADS - (1 if sample else 0)]
    if not chosen and by_thread:
        chosen = [next(iter(by_thread))]
    threshold = float(settings["text_similarity"]["threshold"] or 0.6)
    out = []
    for thread_id in chosen:
        between()  # reports progress, and so notices a cancel request between whole threads
        turns = by_thread[thread_id]
        log(f"Free run of {thread_id}: {len(turns)} turn(s) with state carried by {run.mode}")
        outcomes = replayer.free_run([_case_input(c) for c in turns])
        out.append(points_module.describe_free_run(thread_id, turns, outcomes, forced, threshold,
                                                   is_sample=thread_id == sample))
    return out


def _finish(run: ValidationRun, ordered: list[TestCase], free_runs: list[dict[str, Any]], contract: dict,
            contract_missing: str, *, actor, log: Callable[[str], None], timing: dict[str, Any]) -> ValidationRun:
    results = list(run.results.select_related("case"))
    summary = points_module.summarize(run, ordered, results, free_runs, contract, contract_missing)
    summary["totals"].update(timing)
    status = {Verdict.PASS: RunStatus.PASSED, Verdict.FAIL: RunStatus.FAILED}.get(summary["verdict"],
                                                                                  RunStatus.INCOMPLETE)
    with transaction.atomic():
        moved = _move(run, status, verdict=summary["verdict"], summary=summary["sentence"], points=summary["points"],
                      check_summary=summary["checks"], totals=summary["totals"], free_runs=free_runs,
                      cases_done=len(results), cases_passed=summary["totals"]["results_passed"],
                      cases_failed=summary["totals"]["results_failed"])
        if not moved:  # cancelled meanwhile
            run.refresh_from_db()
            return run
        audit.record(actor=actor, verb=f"migrator.validation.run_{summary['verdict']}", obj=run,
                     after={"verdict": summary["verdict"], "config_hash": run.config_hash, "mode": run.mode},
                     data={"summary": summary["sentence"]})
        _report_outcome(run, "validation.run_passed" if summary["verdict"] == Verdict.PASS
                        else "validation.run_failed", actor=actor)
    log(summary["sentence"])
    return run


def _budget_reached(run: ValidationRun, progress: _Progress, *, actor, log: Callable[[str], None]) -> ValidationRun:
    """Stop cleanly: every replayed case is kept (and counted), the run ends "budget reached" with no verdict."""
    sentence = (f"Budget reached: spent ${progress.spent:.4f} of the ${float(run.budget_usd):.4f} budget after "
                f"{progress.done} of {run.cases_total} cases; the results so far are kept (no verdict).")
    with transaction.atomic():
        moved = _move(run, RunStatus.BUDGET_REACHED, summary=sentence, cases_done=progress.done,
                      cases_passed=progress.passed, cases_failed=progress.failed, spent_usd=round(progress.spent, 8))
        if not moved:
            run.refresh_from_db()
            return run
        audit.record(actor=actor, verb="migrator.validation.run_budget_reached", obj=run,
                     data={"spent_usd": round(progress.spent, 8), "budget_usd": str(run.budget_usd),
                           "cases_done": progress.done})
    status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
    log(sentence)
    return run


def _report_outcome(run: ValidationRun, outcome: str, *, actor) -> None:
    """Tell the status contract what happened, when the run speaks for what the flow/assistant stands on now."""
    if is_stale(run):
        # A run of another configuration (a --config file, an older version) moves no status, but while it
        # ran its flow counted as validating.
        status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
        return
    verb = {"validation.run_started": "started", "validation.run_passed": "passed"}.get(outcome, "did not pass")
    mode = FlowMode(run.mode).label if run.mode in FlowMode.values else run.mode
    status_service.apply_outcome(
        outcome=outcome, actor=actor, assistant_id=run.assistant_id, flow_id=run.flow_id,
        reason=f"Validation run #{run.pk} {verb} ({run.config_label}, sha256 {short(run.config_hash)}, {mode})",
        evidence={"run_id": run.pk, "config_hash": run.config_hash, "mode": run.mode,
                  "verdict": run.verdict or "", "url": run.get_absolute_url()},
    )


# --- reading ----------------------------------------------------------------------------------------------------


def evidence(flow: Flow, version=None) -> dict[str, Any] | None:
    """The latest finished run for the flow's current configuration hash and mode (None when there is none)."""
    if version is None:
        version, digest, mode = binding(flow)
    else:
        digest, mode = config_hash(version.config), flow.mode or FlowMode.STATELESS
    if not digest:
        return None
    # Exactly the release: the run's hash also covers streaming (a streamed replay is not evidence for a flow
    # that does not stream, nor the other way round).
    release_hash = make_release(config=version.config, mode=mode, truncation=flow.truncation, store=flow.store,
                                stream=bool(flow.streams)).hash if version is not None else ""
    run = (ValidationRun.objects.filter(flow=flow, config_hash=digest, mode=mode, store=flow.store,
                                        truncation=flow.truncation, release_hash=release_hash,
                                        status__in=[RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE])
           .order_by("-finished_at", "-id").first())
    if run is None:
        return None
    results = list(run.results.select_related("case").order_by("case__key", "repeat"))
    failing = points_module.case_rows(results, Verdict.FAIL)
    borderline = points_module.borderline_rows(results, run.options.get("checks") or resolve({}))
    return {
        "run_id": run.pk,
        "url": run.get_absolute_url(),
        "verdict": run.verdict,
        "status": run.status,
        "summary": run.summary,
        "config_hash": run.config_hash,
        "mode": run.mode,
        "store": run.store,
        "truncation": run.truncation,
        "release": run.release_hash,
        "config_label": run.config_label,
        "version_id": run.prompt_version_id,
        "connection": run.connection_name,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "points": run.points,
        "totals": run.totals,
        "test_set_id": run.test_set_id,
        "checks": run.options.get("checks") or resolve({}),
        "failing_cases": failing[:20],
        "borderline_cases": borderline[:20],
    }


