"""The replay engine: send recorded history through a candidate configuration in a flow's state mode.

Teacher forcing (``replay_case``): the history before a turn comes from the record, the user's turn is sent,
and each function call the model makes is answered with the recorded output of the matching recorded call
(same name, closest arguments), under the model's own ``call_id``. A call with no recording is flagged and the
turn stops there: an output is never invented. Hosted tools (file search, code interpreter, web search) run on
the connection and are reported as live.

Free running (``free_run``): a whole thread's user turns in order, with the state carried by the mode itself
(the client's own input list, a conversation, or ``previous_response_id``), so a mode that loses state shows.

No ORM here: plain data in, plain data out, so a thread pool can run cases side by side.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from migrator.core.openai_client import describe_error
from migrator.core.ratebudget import estimate_tokens
from migrator.core.release import ReleaseSpec, build_request, make_release

MAX_TOOL_ROUNDS = 8
CONVERSATION_BATCH = 20  # the Conversations API takes at most 20 items per call
_RETRYABLE = (openai.RateLimitError, openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError)
_HOSTED_OUTPUTS = {"file_search_call": "file_search", "code_interpreter_call": "code_interpreter",
                   "web_search_call": "web_search", "image_generation_call": "image_generation",
                   "mcp_call": "mcp", "computer_call": "computer_use"}
# Keys of a configuration that carry state or streaming: the engine sets them itself.
STATE_KEYS = ("input", "conversation", "previous_response_id", "stream", "background", "prompt")


class CallFailed(Exception):
    """The API refused or could not answer. ``retryable`` errors make a case incomplete, others fail it."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class CaseInput:
    key: str
    history: list[dict[str, Any]]
    user_input: list[dict[str, Any]]
    expected_tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TurnOutcome:
    text: str = ""
    refusal: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments", "matched"}
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    live_tools: list[str] = field(default_factory=list)
    response_ids: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    api_seconds: float = 0.0  # wall time inside SDK calls: the API's answer plus the SDK's own work
    sdk_cpu_seconds: float = 0.0  # CPU this thread spent inside SDK calls (building and parsing)
    cpu_seconds: float = 0.0  # CPU this thread spent on the whole case
    total_seconds: float = 0.0
    # streamed runs: from the start of the turn to its first output_text delta (None: not streamed, or no text)
    ttft_seconds: float | None = None
    turn_started: float = 0.0
    status: str = ""  # the last response's status (completed / incomplete / …)
    error: str = ""
    error_retryable: bool = False
    completed: bool = False
    output_items: list[dict[str, Any]] = field(default_factory=list)  # re-sendable items (stateless history)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("output_items", "turn_started")}


# --- neutral items → Responses input -----------------------------------------------------------------------


def message_input(item: dict[str, Any]) -> dict[str, Any]:
    text = str(item.get("text") or "")
    if item.get("role") == "assistant":
        return {"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": text}] if text or not item.get("images") else []
    for image in item.get("images") or []:
        part = {"type": "input_image", "detail": image.get("detail") or "auto"}
        part.update({k: image[k] for k in ("image_url", "file_id") if image.get(k)})
        parts.append(part)
    return {"type": "message", "role": str(item.get("role") or "user"), "content": parts}


def to_input(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            out.append(message_input(item))
        elif kind == "function_call":
            out.append({"type": "function_call", "call_id": item["call_id"], "name": item["name"],
                        "arguments": item.get("arguments") or "{}"})
        elif kind == "function_call_output":
            out.append({"type": "function_call_output", "call_id": item["call_id"], "output": item.get("output", "")})
    return out


def _args(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return text


def match_recorded(name: str, arguments: str, recorded: list[dict[str, Any]], used: set[int]) -> int | None:
    """Index of the recorded call that answers this one: same name, unused, closest arguments."""
    wanted = _args(arguments)
    best, best_score = None, -1
    for index, call in enumerate(recorded):
        if index in used or call.get("name") != name:
            continue
        got = _args(call.get("arguments") or "{}")
        if got == wanted:
            return index
        score = 0
        if isinstance(got, dict) and isinstance(wanted, dict):
            score = sum(1 for k, v in wanted.items() if got.get(k) == v)
        if score > best_score:
            best, best_score = index, score
    return best


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump(exclude_none=True) if hasattr(obj, "model_dump") else dict(obj)


class Replayer:
    """One release (configuration, state mode, truncation, store), one client. Thread-safe: it keeps no per-case
    state. Every request goes through :func:`migrator.core.release.build_request`, like production's."""

    def __init__(self, client: openai.OpenAI, *, config: dict[str, Any] | None = None, mode: str = "stateless",
                 store: bool = True, truncation: str | None = None, release: ReleaseSpec | None = None,
                 budget: Any = None, retries: int = 3, sleep: Callable[[float], None] = time.sleep,
                 stream: bool = False) -> None:
        self.client = client
        self.stream = stream  # the flow streams in production: replay with stream=true, as it runs there
        if release is None:
            release = make_release(config=config, mode=mode, store=store,
                                   truncation=truncation or str((config or {}).get("truncation") or "disabled"))
        self.release = release
        self.config = release.call
        self.mode = release.mode
        self.store = release.store
        self.budget = budget
        self.retries = retries
        self.sleep = sleep

    # -- one API call, under the shared rate budget, retried only on retryable errors --

    def _call(self, outcome: TurnOutcome | None, resource: Any, method: str, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            if self.budget is not None:
                self.budget.acquire(tokens=estimate_tokens(kwargs))
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                raw = getattr(resource.with_raw_response, method)(**kwargs)
                if self.budget is not None:
                    self.budget.observe(raw.headers)
                if kwargs.get("stream") is True:
                    return _consume_stream(raw.parse(), outcome)
                return raw.parse()
            except _RETRYABLE as exc:
                if self.budget is not None and isinstance(exc, openai.RateLimitError):
                    # observe() holds every worker of the connection back for the retry-after it reads.
                    self.budget.observe(exc.response.headers)
                    if _retry_after(exc) is None:
                        self.budget.penalize(1.0)
                attempt += 1
                if attempt > self.retries:
                    raise CallFailed(describe_error(exc), retryable=True) from exc
                if self.budget is None or not isinstance(exc, openai.RateLimitError):
                    # With a budget, the next acquire() already waits out a 429 for every worker.
                    self.sleep(_retry_after(exc) or min(8.0, 0.5 * 2 ** attempt))
            except openai.APIStatusError as exc:
                raise CallFailed(describe_error(exc), retryable=False) from exc
            except openai.APIError as exc:  # an ``error`` event mid-stream: the API gave up on this answer
                raise CallFailed(f"error event mid-stream: {exc}", retryable=False) from exc
            finally:
                if outcome is not None:
                    outcome.api_seconds += time.perf_counter() - started
                    outcome.sdk_cpu_seconds += time.thread_time() - cpu

    # -- state per mode --

    def _new_conversation(self, outcome: TurnOutcome, history: list[dict[str, Any]]) -> str:
        items = to_input(history)
        conv = self._call(outcome, self.client.conversations, "create", items=items[:CONVERSATION_BATCH])
        for start in range(CONVERSATION_BATCH, len(items), CONVERSATION_BATCH):
            self._call(outcome, self.client.conversations.items, "create", conversation_id=conv.id,
                       items=items[start:start + CONVERSATION_BATCH])
        return conv.id

    def _drop_conversation(self, outcome: TurnOutcome, conversation_id: str) -> None:
        # Cleanup only: a leftover scratch conversation harms nothing.
        with contextlib.suppress(openai.OpenAIError, CallFailed):
            self._call(outcome, self.client.conversations, "delete", conversation_id=conversation_id)

    def _turn(self, outcome: TurnOutcome, first_input: list[dict[str, Any]], recorded: list[dict[str, Any]], *,
              conversation: str | None = None, previous: str | None = None) -> str | None:
        """Send one user turn and answer function calls from the recording. Returns the last response id."""
        used: set[int] = set()
        outcome.turn_started = outcome.turn_started or time.perf_counter()
        pending_input = first_input
        stateless_input = list(first_input)
        last_id = previous
        for _ in range(MAX_TOOL_ROUNDS):
            if self.mode == "conversation":
                kwargs = build_request(self.release, input=pending_input, state=conversation)
            elif self.mode == "previous_response":
                kwargs = build_request(self.release, input=pending_input, state=last_id)
            else:
                kwargs = build_request(self.release, input=stateless_input)
            if self.stream:
                kwargs["stream"] = True  # transport only: the release (what is asked) is the same
            response = self._call(outcome, self.client.responses, "create", **kwargs)
            last_id = response.id
            step = self.absorb(outcome, response, recorded, used)
            if step is None:
                return last_id
            produced, outputs = step
            stateless_input = [*stateless_input, *produced, *outputs]
            pending_input = outputs
        outcome.error = f"the model kept calling tools after {MAX_TOOL_ROUNDS} rounds"
        return last_id

    def absorb(self, outcome: TurnOutcome, response: Any, recorded: list[dict[str, Any]], used: set[int]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """Read one response of a turn into ``outcome``. None when the turn ended (an answer, or a call with no
        recording); else (the items it produced, the recorded outputs to send back). The direct and the Batch
        path both read responses here, so they reach the same verdicts."""
        outcome.response_ids.append(response.id)
        outcome.status = str(getattr(response, "status", "") or "")
        usage = getattr(response, "usage", None)
        if usage is not None:
            outcome.input_tokens += int(getattr(usage, "input_tokens", 0) or 0)
            outcome.output_tokens += int(getattr(usage, "output_tokens", 0) or 0)
        calls, produced = [], []
        texts, refusals = [], []
        for item in response.output or []:
            kind = getattr(item, "type", "")
            if kind == "function_call":
                calls.append(item)
                produced.append({"type": "function_call", "call_id": item.call_id, "name": item.name,
                                 "arguments": item.arguments})
            elif kind == "message":
                for part in getattr(item, "content", None) or []:
                    if getattr(part, "type", "") == "output_text":
                        texts.append(part.text)
                    elif getattr(part, "type", "") == "refusal":
                        refusals.append(part.refusal)
                produced.append({"type": "message", "role": "assistant",
                                 "content": [{"type": "output_text", "text": "".join(texts), "annotations": []}]})
            elif kind in _HOSTED_OUTPUTS and _HOSTED_OUTPUTS[kind] not in outcome.live_tools:
                outcome.live_tools.append(_HOSTED_OUTPUTS[kind])
        outcome.output_items.extend(produced)
        if not calls:
            outcome.text = "\n".join(texts)
            outcome.refusal = "\n".join(refusals)
            outcome.completed = outcome.status in ("completed", "")
            return None
        outputs = []
        for call in calls:
            index = match_recorded(call.name, call.arguments, recorded, used)
            entry = {"name": call.name, "arguments": call.arguments, "matched": index is not None}
            outcome.tool_calls.append(entry)
            if index is None:
                outcome.unmatched.append({"name": call.name, "arguments": call.arguments})
                continue
            used.add(index)
            outputs.append({"type": "function_call_output", "call_id": call.call_id,
                            "output": recorded[index].get("output", "")})
        if outcome.unmatched:
            # Never invent an output: the turn stops here and the case says which call had no recording.
            outcome.text = "\n".join(texts)
            return None
        outcome.output_items.extend(outputs)
        return produced, outputs

    # -- public --

    def replay_case(self, case: CaseInput) -> TurnOutcome:
        """Teacher forcing: recorded history, then the case's user turn, in this replayer's mode."""
        outcome = TurnOutcome()
        started, cpu = time.perf_counter(), time.thread_time()
        conversation = None
        try:
            user = to_input(case.user_input)
            if self.mode == "conversation":
                conversation = self._new_conversation(outcome, case.history)
                self._turn(outcome, user, case.expected_tool_calls, conversation=conversation)
            else:
                # Stateless sends the history in input; chaining starts its chain from the same history,
                # and every later call of the turn names the previous response (which needs store).
                self._turn(outcome, to_input(case.history) + user, case.expected_tool_calls)
        except CallFailed as exc:
            outcome.error, outcome.error_retryable = str(exc), exc.retryable
        finally:
            if conversation:
                self._drop_conversation(outcome, conversation)
            outcome.total_seconds = time.perf_counter() - started
            outcome.cpu_seconds = time.thread_time() - cpu
        return outcome

    def free_run(self, cases: list[CaseInput]) -> list[TurnOutcome]:
        """A whole thread, user turn by user turn, with state carried only by the mode.

        Stops at the first turn that fails (later turns would only repeat the failure)."""
        outcomes: list[TurnOutcome] = []
        history: list[dict[str, Any]] = []  # stateless: the client's own record of the chat
        conversation: str | None = None
        previous: str | None = None
        try:
            if self.mode == "conversation":
                probe = TurnOutcome()
                conversation = self._new_conversation(probe, [])
            for case in cases:
                outcome = TurnOutcome()
                started = time.perf_counter()
                user = to_input(case.user_input)
                try:
                    if self.mode == "stateless":
                        self._turn(outcome, history + user, case.expected_tool_calls)
                        history = history + user + outcome.output_items
                    elif self.mode == "conversation":
                        self._turn(outcome, user, case.expected_tool_calls, conversation=conversation)
                    else:
                        previous = self._turn(outcome, user, case.expected_tool_calls, previous=previous)
                except CallFailed as exc:
                    outcome.error, outcome.error_retryable = str(exc), exc.retryable
                outcome.total_seconds = time.perf_counter() - started
                outcomes.append(outcome)
                if outcome.error or outcome.unmatched:
                    break
        except CallFailed as exc:
            failed = TurnOutcome(error=str(exc), error_retryable=exc.retryable)
            outcomes.append(failed)
        finally:
            if conversation:
                self._drop_conversation(TurnOutcome(), conversation)
        return outcomes


_TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def _consume_stream(stream: Any, outcome: TurnOutcome | None) -> Any:
    """Read a streamed ``responses.create`` to its end: note the time to first token, rebuild each text part
    and each call's arguments from the deltas, and check them against the final response (what a
    non-streamed call returns). A stream that ends early or assembles into something else fails the call."""
    texts: dict[tuple[str, int], list[str]] = {}
    arguments: dict[str, list[str]] = {}
    final = None
    for event in stream:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            if outcome is not None and outcome.ttft_seconds is None and outcome.turn_started:
                outcome.ttft_seconds = time.perf_counter() - outcome.turn_started
            texts.setdefault((event.item_id, event.content_index), []).append(event.delta)
        elif kind == "response.function_call_arguments.delta":
            arguments.setdefault(event.item_id, []).append(event.delta)
        elif kind in _TERMINAL:
            final = event.response
    if final is None:
        raise CallFailed("the stream ended before its final event (response.completed / incomplete / failed)",
                         retryable=True)
    problems = []
    for item in final.output or []:
        if getattr(item, "type", "") == "message":
            for index, part in enumerate(getattr(item, "content", None) or []):
                built = "".join(texts.get((item.id, index), []))
                if getattr(part, "type", "") == "output_text" and built != part.text:
                    problems.append(f"text of {item.id}: deltas {built[:80]!r} ≠ final {part.text[:80]!r}")
        elif getattr(item, "type", "") == "function_call":
            built = "".join(arguments.get(item.id, []))
            if built != item.arguments:
                problems.append(f"arguments of {item.name}: deltas {built[:80]!r} ≠ final {item.arguments[:80]!r}")
    if problems:
        raise CallFailed("the streamed events do not assemble into the final response: " + "; ".join(problems),
                         retryable=False)
    return final


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None
