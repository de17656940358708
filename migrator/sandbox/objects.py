"""Builders for Assistants v2 objects (shared by the endpoints and the demo seed)."""

from __future__ import annotations

from typing import Any

from . import catalog


def assistant(asst_id: str, created: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": asst_id, "object": "assistant", "created_at": created,
        "name": body.get("name"), "description": body.get("description"), "model": body["model"],
        "instructions": body.get("instructions"), "tools": body.get("tools") or [],
        "tool_resources": body.get("tool_resources") or {}, "metadata": body.get("metadata") or {},
        "temperature": body.get("temperature", 1.0), "top_p": body.get("top_p", 1.0),
        "response_format": body.get("response_format") or "auto",
        "reasoning_effort": body.get("reasoning_effort"),
    }


def thread(thread_id: str, created: int, metadata: dict | None, tool_resources: dict | None) -> dict[str, Any]:
    return {"id": thread_id, "object": "thread", "created_at": created, "metadata": metadata or {},
            "tool_resources": tool_resources or {}}


def text_part(value: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def message(
    msg_id: str, thread_id: str, created: int, role: str, content: list[dict[str, Any]], *,
    assistant_id: str | None = None, run_id: str | None = None, attachments: list | None = None,
    metadata: dict | None = None,
) -> dict[str, Any]:
    return {
        "id": msg_id, "object": "thread.message", "created_at": created, "thread_id": thread_id,
        "status": "completed", "incomplete_details": None, "completed_at": created, "incomplete_at": None,
        "role": role, "content": content, "assistant_id": assistant_id, "run_id": run_id,
        "attachments": attachments or [], "metadata": metadata or {},
    }


def run(run_id: str, thread_id: str, asst: dict[str, Any], created: int, body: dict[str, Any]) -> dict[str, Any]:
    instructions = body.get("instructions")
    if instructions is None:
        instructions = asst.get("instructions") or ""
    if body.get("additional_instructions"):
        instructions = f"{instructions}\n{body['additional_instructions']}".strip()
    return {
        "id": run_id, "object": "thread.run", "created_at": created, "thread_id": thread_id,
        "assistant_id": asst["id"], "status": "queued", "required_action": None, "last_error": None,
        "expires_at": created + 600, "started_at": None, "cancelled_at": None, "failed_at": None,
        "completed_at": None, "incomplete_details": None, "model": body.get("model") or asst["model"],
        "instructions": instructions,
        "tools": body.get("tools") if body.get("tools") is not None else asst.get("tools") or [],
        "metadata": body.get("metadata") or {}, "usage": None,
        "temperature": body.get("temperature", asst.get("temperature", 1.0)),
        "top_p": body.get("top_p", asst.get("top_p", 1.0)),
        "max_prompt_tokens": body.get("max_prompt_tokens"),
        "max_completion_tokens": body.get("max_completion_tokens"),
        "truncation_strategy": body.get("truncation_strategy") or {"type": "auto", "last_messages": None},
        "tool_choice": body.get("tool_choice") or "auto",
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "response_format": body.get("response_format") or asst.get("response_format") or "auto",
        "reasoning_effort": body.get("reasoning_effort"),
    }


def step(run_obj: dict[str, Any], created: int, details: dict[str, Any], *, status: str = "completed",
         usage: dict | None = None, step_id: str | None = None) -> dict[str, Any]:
    return {
        "id": step_id or catalog.new_id("step_"), "object": "thread.run.step", "created_at": created,
        "assistant_id": run_obj["assistant_id"], "thread_id": run_obj["thread_id"], "run_id": run_obj["id"],
        "type": details["type"], "status": status, "step_details": details, "last_error": None,
        "expired_at": None, "cancelled_at": None, "failed_at": None,
        "completed_at": created if status == "completed" else None, "metadata": {},
        "usage": usage if status == "completed" else None,
    }


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
