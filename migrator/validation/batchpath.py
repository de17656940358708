"""Teacher-forced cases through the Batch API: the same requests the direct path sends, read by the same code.

A case is a *job* kept as plain JSON (so a run can be resumed from the database by another worker): the input
sent so far, the recorded calls already used, the previous response id (chained mode) and the outcome so far.
Each round puts the next request of every unfinished job in one batch; a reply with function calls answered from
the recording makes the job's next request for the following round, exactly as ``Replayer._turn`` loops. The
reply is read by ``Replayer.absorb``, the direct path's own reader, so both paths reach the same verdicts.

Only independent turns go this way: stateless and chained-responses modes. Conversation mode needs a
conversation created per case before its turn, which a batch cannot do, so such runs stay direct. A streaming
flow's cases are sent unstreamed (a batch does not stream): no time to first token is measured.

No ORM here (``services.batchruns`` stores jobs and results).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from openai.types.responses import Response
from pydantic import ValidationError

from migrator.core.release import build_request
from migrator.validation.replay import MAX_TOOL_ROUNDS, CaseInput, Replayer, TurnOutcome, to_input

MODES = ("stateless", "previous_response")
_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


def new_job(case: CaseInput) -> dict[str, Any]:
    return {"input": to_input(case.history) + to_input(case.user_input), "pending": None, "last": None,
            "used": [], "rounds": 0, "recorded": case.expected_tool_calls, "outcome": {}}


def outcome_of(job: dict[str, Any]) -> TurnOutcome:
    return TurnOutcome(**job["outcome"]) if job["outcome"] else TurnOutcome()


def request_body(replayer: Replayer, job: dict[str, Any]) -> dict[str, Any]:
    """The next ``responses.create`` body of this job, built as the direct path builds it."""
    if replayer.mode == "previous_response":
        pending = job["pending"] if job["pending"] is not None else job["input"]
        return build_request(replayer.release, input=pending, state=job["last"])
    return build_request(replayer.release, input=job["input"])


def read_reply(replayer: Replayer, job: dict[str, Any], line: dict[str, Any] | None) -> bool:
    """Take one output/error file line (None: the batch gave no answer) into the job. True when the case is
    finished (its outcome final), False when it needs another round."""
    outcome = outcome_of(job)
    job["rounds"] += 1
    finished = True
    if line is None:
        outcome.error, outcome.error_retryable = "the batch ended without answering this request", True
    elif line.get("error"):
        error = line["error"] or {}
        outcome.error = f"batch error {error.get('code') or ''}: {error.get('message') or ''}".strip()
        outcome.error_retryable = True
    elif (line.get("response") or {}).get("status_code") != 200:
        reply = line.get("response") or {}
        status = int(reply.get("status_code") or 0)
        body = reply.get("body") or {}
        message = (body.get("error") or {}).get("message") if isinstance(body, dict) else ""
        outcome.error = f"HTTP {status}: {message or 'no message'}"
        outcome.error_retryable = status in _RETRYABLE_STATUS
    else:
        try:
            response = Response.model_validate(line["response"]["body"])
        except ValidationError as exc:
            outcome.error, outcome.error_retryable = f"the batch's answer is not a response: {exc}"[:500], False
        else:
            used = set(job["used"])
            step = replayer.absorb(outcome, response, job["recorded"], used)
            job["used"] = sorted(used)
            job["last"] = response.id
            if step is not None:
                produced, outputs = step
                job["input"] = [*job["input"], *produced, *outputs]
                job["pending"] = outputs
                finished = False
                if job["rounds"] >= MAX_TOOL_ROUNDS:
                    outcome.error = f"the model kept calling tools after {MAX_TOOL_ROUNDS} rounds"
                    finished = True
    job["outcome"] = {k: v for k, v in dataclasses.asdict(outcome).items()}
    return finished
