"""Executing a validation run: replay every case (direct, or through the Batch API), score it, free-run sample
threads turn by turn, and decide the verdict (or stop at the budget). ``runs.execute_run`` is the door."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from django.db import transaction

from migrator.core.confighash import short
from migrator.core.lanes import LanePool
from migrator.core.models import Connection
from migrator.core.openai_client import client_for
from migrator.core.ratebudget import RateBudget
from migrator.core.release import make_release
from migrator.core.services import ServiceError, audit
from migrator.core.services import status as status_service
from migrator.validation import points as points_module
from migrator.validation.cases import config_contract
from migrator.validation.checks import CaseFacts, Scorer, resolve
from migrator.validation.judge import make_embedder, make_judge
from migrator.validation.models import CaseResult, RunStatus, TestCase, TestSet, ValidationRun, Verdict
from migrator.validation.replay import CaseInput, Replayer, TurnOutcome
from migrator.validation.services import batchruns
from migrator.validation.services.standing import move_run, report_outcome

FREE_RUN_THREADS = 3
_CLIENT_OPTIONS = {"max_retries": 0, "timeout": 120}  # the engine retries itself, under the rate budget


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


def answer_contract(run: ValidationRun, test_set: TestSet | None) -> tuple[dict[str, Any], str]:
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


def execute(run: ValidationRun, *, actor, report, log, client) -> ValidationRun:
    """Replay, score and decide a run already moved to running (``runs.execute_run`` ends it on a cancel or an
    error)."""
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
    contract, contract_missing = answer_contract(run, run.test_set)
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
        moved = move_run(run, status, verdict=summary["verdict"], summary=summary["sentence"], points=summary["points"],
                         check_summary=summary["checks"], totals=summary["totals"], free_runs=free_runs,
                         cases_done=len(results), cases_passed=summary["totals"]["results_passed"],
                         cases_failed=summary["totals"]["results_failed"])
        if not moved:  # cancelled meanwhile
            run.refresh_from_db()
            return run
        audit.record(actor=actor, verb=f"migrator.validation.run_{summary['verdict']}", obj=run,
                     after={"verdict": summary["verdict"], "config_hash": run.config_hash, "mode": run.mode},
                     data={"summary": summary["sentence"]})
        report_outcome(run, "validation.run_passed" if summary["verdict"] == Verdict.PASS
                       else "validation.run_failed", actor=actor)
    log(summary["sentence"])
    return run


def _budget_reached(run: ValidationRun, progress: _Progress, *, actor, log: Callable[[str], None]) -> ValidationRun:
    """Stop cleanly: every replayed case is kept (and counted), the run ends "budget reached" with no verdict."""
    sentence = (f"Budget reached: spent ${progress.spent:.4f} of the ${float(run.budget_usd):.4f} budget after "
                f"{progress.done} of {run.cases_total} cases; the results so far are kept (no verdict).")
    with transaction.atomic():
        moved = move_run(run, RunStatus.BUDGET_REACHED, summary=sentence, cases_done=progress.done,
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
