"""A validation run's teacher-forced cases through the Batch API, as a resumable job.

Round after round: the next request of every unfinished case goes into one batch (uploaded and created through
``core.openai_client``), the batch is polled until it ends, and its output and error files are read back through
``batchpath`` (the direct path's own reader). Finished cases are scored and stored *in the same transaction* that
removes them from the run's stored job list, so a worker that dies at any point leaves the run resumable: the
next job re-attaches to the batch in flight (its id is stored before it is polled), sends nothing twice and loses
no case. A budget is checked after each round (a batch is paid as a whole): once reached, no new round starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai
from django.db import transaction

from migrator.core import openai_client
from migrator.core.services import ServiceError
from migrator.validation import batchpath
from migrator.validation.models import CaseResult, TestCase, ValidationRun
from migrator.validation.pricing import BATCH_DISCOUNT
from migrator.validation.replay import CaseInput, Replayer, TurnOutcome

POLL_SECONDS = 5.0
MAX_POLL_MISSES = 5
_TRANSIENT = (openai.RateLimitError, openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError)


def _key(case_id: int, repeat: int) -> str:
    return f"{case_id}:{repeat}"


def _save(run: ValidationRun, state: dict[str, Any]) -> None:
    run.batch = state
    ValidationRun.objects.filter(pk=run.pk).update(batch=state)


def _wait(client, batch_id: str, *, tick: Callable[[], None], log: Callable[[str], None]) -> Any:
    """Poll until the batch ends. ``tick`` reports progress (and raises when the run is cancelled: the batch is
    cancelled too, so nothing more is billed)."""
    seen = ""
    misses = 0
    while True:
        try:
            batch = openai_client.get_batch(client, batch_id)
        except _TRANSIENT:
            # A poll that goes unanswered loses nothing (the batch runs on); only a run of them ends the run.
            misses += 1
            if misses > MAX_POLL_MISSES:
                raise
            time.sleep(POLL_SECONDS)
            continue
        misses = 0
        if batch.status != seen:
            seen = batch.status
            counts = batch.request_counts
            log(f"Batch {batch_id}: {seen}" + (f" ({counts.completed}/{counts.total} answered)" if counts else ""))
        if batch.status in openai_client.BATCH_FINAL:
            return batch
        try:
            tick()
        except BaseException:
            try:
                openai_client.cancel_batch(client, batch_id)
            except openai.OpenAIError as exc:
                log(openai_client.describe_error(exc, where=f"cancelling batch {batch_id}"))
            raise
        time.sleep(POLL_SECONDS)


def replay(run: ValidationRun, *, ordered: list[TestCase], replayer: Replayer, client,
           case_input: Callable[[TestCase], CaseInput], score: Callable[[TestCase, TurnOutcome], CaseResult],
           progress, limit: float | None, log: Callable[[str], None]) -> bool:
    """Send every case (× repeats) not yet answered; True when the budget stopped it before the end."""
    state = dict(run.batch or {})
    if "jobs" not in state:
        done = set(CaseResult.objects.filter(run=run).values_list("case_id", "repeat"))
        state = {"jobs": {_key(c.pk, r): batchpath.new_job(case_input(c))
                          for r in range(run.repeats) for c in ordered if (c.pk, r) not in done},
                 "batch_id": "", "round": 0, "batches": []}
        _save(run, state)
    cases = {c.pk: c for c in ordered}
    while state["jobs"]:
        if not state["batch_id"]:
            requests = [{"custom_id": key, "body": batchpath.request_body(replayer, job)}
                        for key, job in state["jobs"].items()]
            try:
                batch = openai_client.start_batch(client, requests, metadata={
                    "migrator_validation_run": str(run.pk), "round": str(state["round"] + 1)})
            except openai.OpenAIError as exc:
                raise ServiceError(openai_client.describe_error(exc, where="starting a batch")) from exc
            state.update(batch_id=batch.id, round=state["round"] + 1, batches=[*state["batches"], batch.id])
            _save(run, state)
            log(f"Round {state['round']}: {len(requests)} request(s) in batch {batch.id}")
        try:
            batch = _wait(client, state["batch_id"], tick=lambda: progress.add("", force=True), log=log)
            if batch.status == "failed":
                problems = "; ".join(f"line {e.line}: {e.message}" for e in (batch.errors.data if batch.errors
                                                                             else [])[:5])
                raise ServiceError(f"Batch {batch.id} failed validation: {problems or 'no reason given'}")
            lines = {line["custom_id"]: line for line in
                     openai_client.batch_lines(client, batch.output_file_id)
                     + openai_client.batch_lines(client, batch.error_file_id)}
        except openai.OpenAIError as exc:
            raise ServiceError(openai_client.describe_error(exc, where=f"batch {state['batch_id']}")) from exc
        results = []
        for key, job in list(state["jobs"].items()):
            if not batchpath.read_reply(replayer, job, lines.get(key)):
                continue
            case_id, repeat = key.split(":")
            result = score(cases[int(case_id)], batchpath.outcome_of(job))
            result.repeat = int(repeat)
            if result.cost_usd is not None:
                result.cost_usd = round(result.cost_usd * BATCH_DISCOUNT, 8)
            results.append(result)
            del state["jobs"][key]
        state["batch_id"] = ""
        with transaction.atomic():  # results and the job list move together: a resume neither loses nor repeats
            CaseResult.objects.bulk_create(results)
            _save(run, state)
        for result in results:
            progress.add(result.verdict, cost=result.cost_usd)
        if limit is not None and progress.spent >= limit and state["jobs"]:
            return True
    return False
