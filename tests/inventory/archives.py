"""Builders for raw Assistants API objects and archive files, shaped like what the API returned."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

T0 = 1_735_689_600  # 2025-01-01


def assistant(n: int | str, **fields: Any) -> dict[str, Any]:
    key = n if isinstance(n, str) else f"asst_{n:04d}"
    base = {
        "id": key, "object": "assistant", "created_at": T0, "name": f"Assistant {n}", "description": None,
        "model": "gpt-4o", "instructions": f"You are assistant {n}.", "tools": [], "tool_resources": {},
        "metadata": {}, "temperature": 1.0, "top_p": 1.0, "response_format": "auto", "reasoning_effort": None,
    }
    base.update(fields)
    return base


def thread(n: int | str, **fields: Any) -> dict[str, Any]:
    key = n if isinstance(n, str) else f"thread_{n:04d}"
    base = {"id": key, "object": "thread", "created_at": T0 + 10, "metadata": {}, "tool_resources": {}}
    base.update(fields)
    return base


def message(thread_id: str, n: int, role: str = "user", text: str | None = None, *, assistant_id: str | None = None,
            run_id: str | None = None, created: int | None = None, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"msg_{thread_id[7:]}_{n:03d}", "object": "thread.message", "created_at": created or T0 + 100 + n * 10,
        "thread_id": thread_id, "status": "completed", "incomplete_details": None, "completed_at": None,
        "incomplete_at": None, "role": role,
        "content": [{"type": "text", "text": {"value": text or f"{role} says {n}", "annotations": []}}],
        "assistant_id": assistant_id, "run_id": run_id, "attachments": [], "metadata": {},
    }
    base.update(fields)
    return base


def run(thread_id: str, n: int, assistant_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"run_{thread_id[7:]}_{n:03d}", "object": "thread.run", "created_at": T0 + 100 + n * 10,
        "thread_id": thread_id, "assistant_id": assistant_id, "status": "completed", "model": "gpt-4o",
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, "tools": [],
    }
    base.update(fields)
    return base


def tool_step(run_obj: dict[str, Any], n: int, *calls: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"step_{run_obj['id'][4:]}_{n}", "object": "thread.run.step", "created_at": run_obj["created_at"] + n,
        "run_id": run_obj["id"], "thread_id": run_obj["thread_id"], "assistant_id": run_obj["assistant_id"],
        "type": "tool_calls", "status": "completed",
        "step_details": {"type": "tool_calls", "tool_calls": list(calls)},
    }


def function_call(name: str) -> dict[str, Any]:
    return {"id": f"call_{name}", "type": "function", "function": {"name": name, "arguments": "{}", "output": "{}"}}


def conversation(thread_id: str, assistant_id: str, turns: int = 2) -> list[dict[str, Any]]:
    """A thread with ``turns`` user/assistant exchanges, one run per answer: [thread, msgs..., runs...]."""
    objs: list[dict[str, Any]] = [thread(thread_id)]
    runs = []
    for i in range(turns):
        objs.append(message(thread_id, 2 * i, "user"))
        r = run(thread_id, i, assistant_id)
        runs.append(r)
        objs.append(message(thread_id, 2 * i + 1, "assistant", assistant_id=assistant_id, run_id=r["id"]))
    return objs + runs


def write_jsonl(path: Path, objects: list[Any], *, gz: bool = False, header: bool = True) -> Path:
    lines = []
    if header:
        lines.append(json.dumps({"object": "migrator.archive", "format_version": 1}))
    lines += [o if isinstance(o, str) else json.dumps(o, ensure_ascii=False) for o in objects]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_document(path: Path, document: dict[str, Any], *, gz: bool = False, indent: int | None = 2) -> Path:
    data = json.dumps(document, ensure_ascii=False, indent=indent).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
