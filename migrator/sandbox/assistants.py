"""Assistants API v2: assistants, threads, messages, runs and run steps.

Runs move forward one status per read (``queued`` → ``in_progress`` → ``requires_action`` / ``completed``
/ ``failed`` / ``incomplete`` / ``expired``), so polling loops see every state.  Run ``metadata``
``{"sandbox_outcome": "failed" | "expired" | "incomplete"}`` forces the end state.
"""

from __future__ import annotations

from typing import Any

from . import catalog, objects
from .common import (
    Ctx,
    Route,
    check_list,
    deleted,
    get_or_404,
    list_body,
    metadata,
    now,
    opt_number,
    opt_str,
    paging,
    require,
)
from .errors import ApiError, bad_request, invalid_value
from .model import Output, Request, Turn
from .store import public
from .tools import assistant_tools, model_tools_from_assistant

POLL_HEADER = {"openai-poll-after-ms": "25"}


# --- assistants -------------------------------------------------------------------------------
def _assistant_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, limit in (("name", 256), ("description", 512), ("instructions", 256_000)):
        if name in body:
            fields[name] = opt_str(body, name, limit)
    if "model" in body:
        fields["model"] = require(body, "model")
    if "tools" in body:
        fields["tools"] = assistant_tools(body.get("tools"))
    for name in ("tool_resources", "response_format", "reasoning_effort"):
        if name in body:
            fields[name] = body[name]
    if "metadata" in body:
        fields["metadata"] = metadata(body) or {}
    if "temperature" in body:
        fields["temperature"] = opt_number(body, "temperature", 0, 2)
    if "top_p" in body:
        fields["top_p"] = opt_number(body, "top_p", 0, 1)
    resources = fields.get("tool_resources") or {}
    vs_ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
    if len(vs_ids) > 1:
        raise bad_request("Invalid 'tool_resources.file_search.vector_store_ids': array too long. Expected an "
                          "array with maximum length 1.", param="tool_resources.file_search.vector_store_ids")
    return fields


def create_assistant(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    require(body, "model")
    asst = objects.assistant(catalog.new_id("asst_"), now(), _assistant_fields(body))
    return ctx.store.insert("assistant", asst)


def list_assistants(ctx: Ctx) -> dict[str, Any]:
    return list_body(*ctx.store.page("assistant", **paging(ctx)))


def retrieve_assistant(ctx: Ctx, assistant_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "assistant", assistant_id, "assistant")


def update_assistant(ctx: Ctx, assistant_id: str) -> dict[str, Any]:
    asst = get_or_404(ctx, "assistant", assistant_id, "assistant")
    asst.update(_assistant_fields(ctx.json()))
    return ctx.store.save("assistant", asst)


def delete_assistant(ctx: Ctx, assistant_id: str) -> dict[str, Any]:
    get_or_404(ctx, "assistant", assistant_id, "assistant")
    ctx.store.delete("assistant", assistant_id)
    return deleted(assistant_id, "assistant.deleted")


# --- threads and messages ---------------------------------------------------------------------
def _content(value: Any, param: str) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [objects.text_part(value)]
    if not isinstance(value, list) or not value:
        raise ApiError(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    parts = []
    for i, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.append(objects.text_part(str(part.get("text", ""))))
        elif kind in ("image_url", "image_file"):
            parts.append(part)
        else:
            raise invalid_value(f"{param}[{i}].type", f"'{kind}'. Supported values are: 'image_file', 'image_url', and 'text'.")
    return parts


def _new_message(thread_id: str, body: dict[str, Any], param: str, created: int | None = None) -> dict[str, Any]:
    role = body.get("role")
    if role not in ("user", "assistant"):
        raise invalid_value(f"{param}role", f"'{role}'. Supported values are: 'user' and 'assistant'.")
    return objects.message(
        catalog.new_id("msg_"), thread_id, created or now(), role, _content(body.get("content"), f"{param}content"),
        attachments=body.get("attachments"), metadata=metadata(body),
    )


def create_thread(ctx: Ctx, body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = ctx.json() if body is None else body
    thread = objects.thread(catalog.new_id("thread_"), now(), metadata(body), body.get("tool_resources"))
    messages = [_new_message(thread["id"], m, f"messages[{i}].")
                for i, m in enumerate(check_list(body.get("messages") or [], "messages", 32))]
    with ctx.store.tx():
        ctx.store.insert("thread", thread)
        ctx.store.insert_many("message", messages, parent=thread["id"])
    return thread


def retrieve_thread(ctx: Ctx, thread_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "thread", thread_id, "thread")


def update_thread(ctx: Ctx, thread_id: str) -> dict[str, Any]:
    thread = get_or_404(ctx, "thread", thread_id, "thread")
    body = ctx.json()
    if "metadata" in body:
        thread["metadata"] = metadata(body) or {}
    if "tool_resources" in body:
        thread["tool_resources"] = body["tool_resources"] or {}
    return ctx.store.save("thread", thread)


def delete_thread(ctx: Ctx, thread_id: str) -> dict[str, Any]:
    get_or_404(ctx, "thread", thread_id, "thread")
    with ctx.store.tx():
        ctx.store.delete("thread", thread_id)
        ctx.store.delete_children(thread_id)
    return deleted(thread_id, "thread.deleted")


def create_message(ctx: Ctx, thread_id: str) -> dict[str, Any]:
    get_or_404(ctx, "thread", thread_id, "thread")
    return ctx.store.insert("message", _new_message(thread_id, ctx.json(), ""), parent=thread_id)


def list_messages(ctx: Ctx, thread_id: str) -> dict[str, Any]:
    get_or_404(ctx, "thread", thread_id, "thread")
    run_id = ctx.query.get("run_id")
    where, args = ("", ()) if not run_id else (" AND json_extract(data, '$.run_id') = ?", (run_id,))
    return list_body(*ctx.store.page("message", thread_id, **paging(ctx), where=where, args=args))


def retrieve_message(ctx: Ctx, thread_id: str, message_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "message", message_id, "message", parent=thread_id)


def update_message(ctx: Ctx, thread_id: str, message_id: str) -> dict[str, Any]:
    msg = get_or_404(ctx, "message", message_id, "message", parent=thread_id)
    msg["metadata"] = metadata(ctx.json()) or {}
    return ctx.store.save("message", msg, parent=thread_id)


def delete_message(ctx: Ctx, thread_id: str, message_id: str) -> dict[str, Any]:
    get_or_404(ctx, "message", message_id, "message", parent=thread_id)
    ctx.store.delete("message", message_id, parent=thread_id)
    return deleted(message_id, "thread.message.deleted")


# --- runs -------------------------------------------------------------------------------------
def create_run(ctx: Ctx, thread_id: str) -> dict[str, Any]:
    get_or_404(ctx, "thread", thread_id, "thread")
    body = ctx.json()
    asst = get_or_404(ctx, "assistant", require(body, "assistant_id"), "assistant")
    if body.get("stream"):
        raise bad_request("The sandbox does not stream; call without stream=True.", param="stream")
    if "tools" in body:
        assistant_tools(body.get("tools"))
    metadata(body)
    extra = [_new_message(thread_id, m, f"additional_messages[{i}].")
             for i, m in enumerate(check_list(body.get("additional_messages") or [], "additional_messages", 32))]
    run = objects.run(catalog.new_id("run_"), thread_id, asst, now(), body)
    with ctx.store.tx():
        ctx.store.insert_many("message", extra, parent=thread_id)
        ctx.store.insert("run", run, parent=thread_id)
    ctx.headers.update(POLL_HEADER)
    return run


def create_thread_and_run(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    thread = create_thread(ctx, body.get("thread") or {})
    ctx.body = {k: v for k, v in body.items() if k != "thread"}
    return create_run(ctx, thread["id"])


def retrieve_run(ctx: Ctx, thread_id: str, run_id: str) -> dict[str, Any]:
    run = get_or_404(ctx, "run", run_id, "run", parent=thread_id)
    ctx.headers.update(POLL_HEADER)
    return public(advance(ctx, run))


def list_runs(ctx: Ctx, thread_id: str) -> dict[str, Any]:
    get_or_404(ctx, "thread", thread_id, "thread")
    return list_body(*ctx.store.page("run", thread_id, **paging(ctx)))


def update_run(ctx: Ctx, thread_id: str, run_id: str) -> dict[str, Any]:
    run = get_or_404(ctx, "run", run_id, "run", parent=thread_id)
    run["metadata"] = metadata(ctx.json()) or {}
    return public(ctx.store.save("run", run, parent=thread_id))


def cancel_run(ctx: Ctx, thread_id: str, run_id: str) -> dict[str, Any]:
    run = get_or_404(ctx, "run", run_id, "run", parent=thread_id)
    if run["status"] not in ("queued", "in_progress", "requires_action"):
        raise bad_request(f"Cannot cancel run with status '{run['status']}'.", param=None)
    run.update({"status": "cancelled", "cancelled_at": now(), "required_action": None})
    return public(ctx.store.save("run", run, parent=thread_id))


def submit_tool_outputs(ctx: Ctx, thread_id: str, run_id: str) -> dict[str, Any]:
    run = get_or_404(ctx, "run", run_id, "run", parent=thread_id)
    if run["status"] != "requires_action":
        raise bad_request(f"Runs in status \"{run['status']}\" do not accept tool outputs.")
    outputs = check_list(require(ctx.json(), "tool_outputs"), "tool_outputs")
    calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    given = {o.get("tool_call_id"): o.get("output", "") for o in outputs if isinstance(o, dict)}
    missing = [c["id"] for c in calls if c["id"] not in given]
    if missing:
        raise bad_request(f"Expected tool outputs for call_ids {[c['id'] for c in calls]}, got {list(given)}",
                          param="tool_outputs")
    run["_tool_outputs"] = run.get("_tool_outputs", []) + [
        {"call_id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"],
         "output": str(given[c["id"]])} for c in calls]
    step_id = run.pop("_pending_step", None)
    if step_id:
        stp = ctx.store.get("run_step", step_id, run_id)
        if stp:
            for call in stp["step_details"]["tool_calls"]:
                call["function"]["output"] = str(given.get(call["id"], ""))
            stp.update({"status": "completed", "completed_at": now(), "usage": objects.usage(0, 0)})
            ctx.store.save("run_step", stp, parent=run_id)
    run.update({"status": "queued", "required_action": None})
    ctx.headers.update(POLL_HEADER)
    return public(ctx.store.save("run", run, parent=thread_id))


def list_steps(ctx: Ctx, thread_id: str, run_id: str) -> dict[str, Any]:
    get_or_404(ctx, "run", run_id, "run", parent=thread_id)
    return list_body(*ctx.store.page("run_step", run_id, **paging(ctx)))


def retrieve_step(ctx: Ctx, thread_id: str, run_id: str, step_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "run_step", step_id, "run step", parent=run_id)


# --- the run engine ---------------------------------------------------------------------------
def advance(ctx: Ctx, run: dict[str, Any]) -> dict[str, Any]:
    """Move a run one status forward; the whole outcome is a function of the thread and assistant."""
    status, t = run["status"], now()
    thread_id = run["thread_id"]
    if status == "queued":
        run.update({"status": "in_progress", "started_at": run["started_at"] or t})
    elif status == "requires_action" and t > run["expires_at"]:
        run.update({"status": "expired", "required_action": None})
    elif status == "in_progress":
        outcome = (run.get("metadata") or {}).get("sandbox_outcome")
        if outcome == "failed":
            run.update({"status": "failed", "failed_at": t, "usage": objects.usage(0, 0),
                        "last_error": {"code": "server_error", "message": "Sandbox: forced failure."}})
        elif outcome == "expired":
            run.update({"status": "expired", "usage": objects.usage(0, 0)})
        elif outcome == "incomplete":
            run.update({"status": "incomplete", "incomplete_details": {"reason": "max_completion_tokens"},
                        "usage": objects.usage(0, 0)})
        else:
            _execute(ctx, run, t)
    else:
        return run
    return ctx.store.save("run", run, parent=thread_id)


def _execute(ctx: Ctx, run: dict[str, Any], t: int) -> None:
    thread = ctx.store.get("thread", run["thread_id"]) or {}
    asst = ctx.store.get("assistant", run["assistant_id"]) or {}
    vs_ids = []
    for owner in (asst, thread):
        vs_ids += ((owner.get("tool_resources") or {}).get("file_search") or {}).get("vector_store_ids") or []
    turns = [Turn("message", role=m["role"], text=_message_text(m)) for m in ctx.store.all("message", run["thread_id"])]
    for out in run.get("_tool_outputs", []):
        turns.append(Turn("function_call", name=out["name"], call_id=out["call_id"], arguments=out["arguments"]))
        turns.append(Turn("function_call_output", call_id=out["call_id"], text=out["output"]))
    fmt = run.get("response_format")
    text_format = None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        text_format = {"type": "json_schema", **(fmt.get("json_schema") or {})}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        text_format = {"type": "json_object"}
    choice = run.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        choice = {"type": "function", "name": (choice.get("function") or {}).get("name")}
    result = ctx.model.run(Request(
        model=run["model"], instructions=run["instructions"], history=turns,
        tools=model_tools_from_assistant(run["tools"], vs_ids), tool_choice=choice, text_format=text_format,
        max_output_tokens=run.get("max_completion_tokens"), parallel_tool_calls=run["parallel_tool_calls"],
    ))
    calls = [o for o in result.outputs if o.kind == "function_call"]
    builtin = [_builtin_call(o) for o in result.outputs if o.kind in ("file_search", "code")]
    if builtin:
        ctx.store.insert("run_step", objects.step(run, t, {"type": "tool_calls", "tool_calls": builtin},
                                                  usage=objects.usage(0, 0)), parent=run["id"])
    if calls:
        tool_calls = [{"id": catalog.new_id("call_"), "type": "function",
                       "function": {"name": o.name, "arguments": o.arguments}} for o in calls]
        details = {"type": "tool_calls", "tool_calls": [
            {**c, "function": {**c["function"], "output": None}} for c in tool_calls]}
        stp = objects.step(run, t, details, status="in_progress")
        ctx.store.insert("run_step", stp, parent=run["id"])
        run.update({"status": "requires_action", "_pending_step": stp["id"],
                    "required_action": {"type": "submit_tool_outputs",
                                        "submit_tool_outputs": {"tool_calls": tool_calls}}})
        return
    text = next((o for o in result.outputs if o.kind == "message"), Output("message"))
    annotations = [{"type": "file_citation", "text": f"【0:{i}†source】", "start_index": c["index"],
                    "end_index": c["index"], "file_citation": {"file_id": c["file_id"]}}
                   for i, c in enumerate(text.citations)]
    msg = objects.message(catalog.new_id("msg_"), run["thread_id"], t, "assistant",
                          [objects.text_part(text.text, annotations)], assistant_id=run["assistant_id"],
                          run_id=run["id"])
    use = objects.usage(result.input_tokens, result.output_tokens)
    ctx.store.insert("message", msg, parent=run["thread_id"])
    ctx.store.insert("run_step", objects.step(
        run, t, {"type": "message_creation", "message_creation": {"message_id": msg["id"]}}, usage=use),
        parent=run["id"])
    if result.incomplete:
        run.update({"status": "incomplete", "incomplete_details": {"reason": "max_completion_tokens"}, "usage": use})
    else:
        run.update({"status": "completed", "completed_at": t, "usage": use})


def _builtin_call(out: Output) -> dict[str, Any]:
    if out.kind == "file_search":
        return {"id": catalog.new_id("call_"), "type": "file_search", "file_search": {
            "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0},
            "results": [{"file_id": r["file_id"], "file_name": r["filename"], "score": r["score"]}
                        for r in out.results]}}
    return {"id": catalog.new_id("call_"), "type": "code_interpreter",
            "code_interpreter": {"input": out.code, "outputs": [{"type": "logs", "logs": out.logs}]}}


def _message_text(msg: dict[str, Any]) -> str:
    parts = []
    for part in msg.get("content") or []:
        if part.get("type") == "text":
            parts.append(part["text"]["value"])
        elif part.get("type") in ("image_url", "image_file"):
            parts.append("[image]")
    return "\n".join(parts)


ROUTES: list[Route] = [
    ("POST", "/assistants", create_assistant),
    ("GET", "/assistants", list_assistants),
    ("GET", "/assistants/{assistant_id}", retrieve_assistant),
    ("POST", "/assistants/{assistant_id}", update_assistant),
    ("DELETE", "/assistants/{assistant_id}", delete_assistant),
    ("POST", "/threads", create_thread),
    ("POST", "/threads/runs", create_thread_and_run),
    ("GET", "/threads/{thread_id}", retrieve_thread),
    ("POST", "/threads/{thread_id}", update_thread),
    ("DELETE", "/threads/{thread_id}", delete_thread),
    ("POST", "/threads/{thread_id}/messages", create_message),
    ("GET", "/threads/{thread_id}/messages", list_messages),
    ("GET", "/threads/{thread_id}/messages/{message_id}", retrieve_message),
    ("POST", "/threads/{thread_id}/messages/{message_id}", update_message),
    ("DELETE", "/threads/{thread_id}/messages/{message_id}", delete_message),
    ("POST", "/threads/{thread_id}/runs", create_run),
    ("GET", "/threads/{thread_id}/runs", list_runs),
    ("GET", "/threads/{thread_id}/runs/{run_id}", retrieve_run),
    ("POST", "/threads/{thread_id}/runs/{run_id}", update_run),
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel", cancel_run),
    ("POST", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", submit_tool_outputs),
    ("GET", "/threads/{thread_id}/runs/{run_id}/steps", list_steps),
    ("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}", retrieve_step),
]
