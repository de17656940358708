"""Try it as a conversation: a few turns in the version's state mode, tool calls answered by hand.

Each turn is one ``prompts.try_version`` job (as a single try always was). The first job starts the
conversation; ``continue_try`` queues the next turn from a finished one, carrying what the state mode needs:

- ``conversation``: the Conversation id (created on the first turn); each turn sends only the new items.
- ``previous_response``: the previous response id; each turn sends only the new items.
- ``stateless``: nothing is stored server-side, so each turn sends the whole history again.

Tool calls the model makes are shown; the person types each call's output, which the next turn sends as
``function_call_output`` items (with optional new text).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from migrator.core.actors import require
from migrator.core.models import Job, JobStatus
from migrator.core.services import ServiceError
from migrator.core.services.jobs import start_job
from migrator.core.status import FlowMode

MAX_TURNS = 10
MAX_TOOL_OUTPUT = 20_000
MODES = tuple(FlowMode.values)


def state_mode_for(assistant) -> str:
    """The mode a try uses by default: the one the assistant's flows chose (the first chosen), else conversation."""
    chosen = [m for m in assistant.flows.exclude(mode="").order_by("name").values_list("mode", flat=True)]
    return chosen[0] if chosen else FlowMode.CONVERSATION


def user_items(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}] if text else []


def output_as_input(output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A response's output items in the shape ``input`` accepts, for stateless history."""
    items: list[dict[str, Any]] = []
    for item in output:
        if item.get("type") == "message":
            text = "".join(p.get("text", "") for p in item.get("content") or [] if isinstance(p, dict))
            items.append({"role": "assistant", "content": text})
        elif item.get("type") == "function_call":
            items.append({"type": "function_call", "call_id": item.get("call_id"), "name": item.get("name"),
                          "arguments": item.get("arguments") or "{}"})
    return items


def pending_calls(output: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"call_id": i.get("call_id", ""), "name": i.get("name", ""), "arguments": i.get("arguments") or "{}"}
            for i in output if i.get("type") == "function_call"]


def continue_try(*, job_id: int, actor, input_text: str = "", tool_outputs: dict[str, str] | None = None) -> Job:
    """Queue the next turn after a finished try: new text and/or the outputs of the model's tool calls."""
    require(actor, "prompts.try_prompt", action="try prompt versions")
    previous = Job.objects.filter(pk=job_id, kind="prompts.try_version").first()
    if previous is None:
        raise ServiceError(f"Try #{job_id} does not exist.")
    if previous.status != JobStatus.SUCCEEDED or not isinstance(previous.result, dict):
        raise ServiceError(f"Try #{job_id} did not succeed, so there is no conversation to continue.")
    from migrator.core.models import Connection
    from migrator.core.services.connection_access import require_use

    connection = Connection.objects.filter(pk=previous.params.get("connection_id")).first()
    if connection is None:
        raise ServiceError(f"The connection Try #{job_id} ran on no longer exists; start a new try.")
    # The next turn runs on the same connection: the person continuing must be allowed to use it themselves
    # (someone else's try on a billed connection is not a way onto that connection).
    require_use(actor, connection, "try")
    result = previous.result
    turn = int(result.get("turn") or 1)
    if turn >= MAX_TURNS:
        raise ServiceError(f"A try is limited to {MAX_TURNS} turns; start a new one from the prompt page.")
    text = (input_text or "").strip()
    calls = result.get("pending_calls") or []
    outputs = tool_outputs or {}
    items: list[dict[str, Any]] = []
    for call in calls:
        output = (outputs.get(call["call_id"]) or "").strip()
        if not output:
            raise ServiceError(f"Type what the app would return for the tool call {call['name']} "
                               f"({call['call_id']}); the model waits for every call's output.")
        if len(output) > MAX_TOOL_OUTPUT:
            raise ServiceError(f"The output for {call['name']} is limited to {MAX_TOOL_OUTPUT:,} characters.")
        items.append({"type": "function_call_output", "call_id": call["call_id"], "output": output})
    if not calls and not text:
        raise ServiceError("Write the next message to send.")
    if len(text) > 20_000:
        raise ServiceError("The message is limited to 20,000 characters.")
    items.extend(user_items(text))
    params = {
        "version_id": result.get("version_id") or previous.params.get("version_id"),
        "connection_id": previous.params.get("connection_id"),
        "input": text,
        "mode": result.get("mode") or FlowMode.STATELESS,
        "turn": turn + 1,
        "previous_job_id": previous.pk,
        "input_items": items,
        "conversation_id": result.get("conversation_id"),
        "previous_response_id": result.get("response_id"),
        "history": result.get("history") or [],
        "transcript": result.get("transcript") or [],
    }
    from migrator.core.models import Assistant

    assistant = Assistant.objects.filter(pk=previous.subject_id).first() if previous.subject_id.isdigit() else None
    return start_job(kind="prompts.try_version", actor=actor, subject=assistant,
                     subject_label=previous.subject_label, params=params)


LIVE_EVERY = 0.1  # seconds between writes of the streamed text (the page reads at the same pace)
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def stream_answer(client: Any, kwargs: dict[str, Any], on_text: Callable[[str, bool], None]) -> Any:
    """``responses.create(stream=True)`` read to its end: ``on_text(text so far, done)`` at most every
    ``LIVE_EVERY`` seconds and once at the end. Returns the final response (what a non-streamed call returns);
    a stream that ends without its final event raises ``ServiceError``. SDK errors (an ``error`` event, a cut
    connection) propagate as ``openai.OpenAIError``."""
    text, written, final = "", 0.0, None
    for event in client.responses.create(**kwargs, stream=True):
        if event.type == "response.output_text.delta":
            text += event.delta
            if time.monotonic() - written >= LIVE_EVERY:
                on_text(text, False)
                written = time.monotonic()
        elif event.type in _TERMINAL:
            final = event.response
    if final is None:
        raise ServiceError("responses.create: the stream ended before its final event.")
    on_text(final.output_text, True)
    return final
