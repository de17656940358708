"""Background jobs of the prompts app (autodiscovered by migrator.core.jobs)."""

from __future__ import annotations

import time
from typing import Any

import openai

from migrator.core.jobs import job_handler
from migrator.core.models import Connection
from migrator.core.openai_client import client_for, describe_error
from migrator.core.release import build_request
from migrator.core.services import ServiceError
from migrator.core.services.connection_access import require_use
from migrator.core.status import FlowMode
from migrator.prompts.models import PromptVersion, TryLiveText
from migrator.prompts.trying import output_as_input, pending_calls, stream_answer, user_items


@job_handler("prompts.try_version", label="Try a prompt version")
def try_version(ctx) -> dict[str, Any]:
    """Send one responses.create with a stored version and a sample input; record output, usage and latency."""
    version = PromptVersion.objects.select_related("assistant").filter(pk=ctx.params.get("version_id")).first()
    if version is None:
        raise ServiceError("The prompt version no longer exists.")
    connection = Connection.objects.filter(pk=ctx.params.get("connection_id")).first()
    if connection is None:
        raise ServiceError("The connection no longer exists.")
    # The job acts as the person who started it, never with more rights: checked again when it runs.
    require_use(ctx.actor, connection, "try")
    params = ctx.params
    mode = params.get("mode") or FlowMode.STATELESS
    turn = int(params.get("turn") or 1)
    new_items = params.get("input_items") or user_items(params.get("input") or "")
    history = list(params.get("history") or [])
    ctx.progress(0, 1, f"Sending turn {turn} of v{version.number} to {connection.name}")
    ctx.produced(version, f"v{version.number} of {version.assistant.display_name}")
    ctx.log(f"responses.create with v{version.number} of {version.assistant.display_name} on {connection.name} "
            f"(model {version.config.get('model')}, {FlowMode(mode).label if mode in FlowMode.values else mode}, "
            f"turn {turn})")
    client = client_for(connection, max_retries=0)
    release = _release_for(version, mode)
    state: str | None = None
    conversation_id = params.get("conversation_id")
    started = time.monotonic()
    try:
        if mode == FlowMode.CONVERSATION:
            if not conversation_id:
                conversation_id = client.conversations.create(metadata={"migrator_try": str(ctx.job_id)}).id
                ctx.log(f"created conversation {conversation_id}")
            state = conversation_id
            sent = new_items
        elif mode == FlowMode.PREVIOUS_RESPONSE:
            state = params.get("previous_response_id") or None
            sent = new_items
        else:
            sent = history + new_items
        # Streamed, so the job page shows the answer as it arrives (prompts:try_live reads TryLiveText); the
        # request itself comes from the same builder as validation and production (migrator.core.release).
        def live(text: str, done: bool) -> None:
            TryLiveText.objects.update_or_create(job_id=ctx.job_id, defaults={"text": text, "done": done})

        response = stream_answer(client, build_request(release, input=sent, state=state), live)
    except openai.OpenAIError as exc:
        raise ServiceError(describe_error(exc, where="responses.create")) from None
    latency_ms = round((time.monotonic() - started) * 1000)
    usage = response.usage.model_dump(mode="json") if response.usage else {}
    output = [item.model_dump(mode="json", exclude_none=True) for item in response.output]
    calls = pending_calls(output)
    ctx.log(f"{response.status} in {latency_ms} ms; {usage.get('total_tokens', '?')} tokens"
            + (f"; {len(calls)} tool call(s) wait for an output" if calls else ""))
    ctx.progress(1, 1, "Done")
    transcript = list(params.get("transcript") or [])
    transcript.append({
        "turn": turn,
        "sent": [i for i in new_items],
        "output_text": response.output_text,
        "calls": calls,
        "response_id": response.id,
    })
    return {
        "version_id": version.pk,
        "version": version.number,
        "assistant_id": version.assistant_id,
        "connection": connection.name,
        "input": params.get("input") or "",
        "response_id": response.id,
        "status": response.status,
        "model": response.model,
        "output_text": response.output_text,
        "output": output,
        "usage": usage,
        "latency_ms": latency_ms,
        "mode": mode,
        "release": release.hash,
        "turn": turn,
        "conversation_id": conversation_id,
        "previous_job_id": params.get("previous_job_id"),
        "pending_calls": calls,
        # Stateless tries resend everything: keep what was sent plus what came back, as input items.
        "history": (sent + output_as_input(output)) if mode == FlowMode.STATELESS else [],
        "transcript": transcript,
    }


def _release_for(version: PromptVersion, mode: str):
    """The release a try sends: the version in ``mode``, with the truncation and store of the assistant's flow in
    that mode when it has one (what production would send), else the version's own."""
    from migrator.core.models import Flow
    from migrator.core.release import make_release

    config = version.config or {}
    flow = Flow.objects.filter(assistant_id=version.assistant_id, mode=mode).order_by("name").first()
    truncation = flow.truncation if flow else str(config.get("truncation") or "disabled")
    store = flow.store if flow else config.get("store", True) is not False
    return make_release(config=config, mode=mode, truncation=truncation, store=store,
                        stream=bool(flow and flow.streams))
