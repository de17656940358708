"""Realistic tool-test inputs: the calls imported runs recorded for a function tool.

A run step of type ``tool_calls`` holds, per function call, the arguments the model sent and the output the
app returned (``step_details.tool_calls[].function.{name, arguments, output}``). A tool test can replay one:
the recorded arguments become the request, the recorded output is what the test answers with. Self-contained
on purpose (only the inventory's LegacyRun), so it moves with the tool code as one piece.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

MAX_OFFERED = 5
MAX_TEXT = 4000


@dataclass(frozen=True)
class RecordedCall:
    call_id: str
    name: str
    arguments: Any  # parsed JSON when it parses, else the raw string
    output: str | None  # what the app returned (None when the run never got an output)
    run_id: str
    thread_id: str
    at: datetime | None

    def as_params(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat() if self.at else None
        return data

    @property
    def arguments_text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments, ensure_ascii=False)


def _parse(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def recorded_calls(assistant, tool_name: str, *, limit: int = MAX_OFFERED) -> list[RecordedCall]:
    """The latest distinct recorded calls of ``tool_name`` in this assistant's imported runs (newest first)."""
    from migrator.inventory.models import LegacyRun

    runs = (LegacyRun.objects.filter(thread__assistant=assistant, tool_calls__has_key=f"function:{tool_name}")
            .select_related("thread").order_by("-created_at_legacy", "-id")[:200])
    found: list[RecordedCall] = []
    seen: set[str] = set()
    for run in runs:
        for step in run.steps or []:
            details = step.get("step_details") if isinstance(step, dict) else None
            for call in (details or {}).get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if call.get("type") != "function" or not isinstance(function, dict):
                    continue
                if function.get("name") != tool_name:
                    continue
                key = str(function.get("arguments"))
                if key in seen:
                    continue  # the same arguments twice teach nothing new
                seen.add(key)
                created = step.get("created_at")
                output = function.get("output")
                found.append(RecordedCall(
                    call_id=str(call.get("id") or ""), name=tool_name, arguments=_parse(function.get("arguments")),
                    output=str(output)[:MAX_TEXT] if output is not None else None, run_id=run.legacy_id,
                    thread_id=run.thread.legacy_id,
                    at=datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int | float) else None,
                ))
                if len(found) >= limit:
                    return found
    return found


def find_recorded(assistant, tool_name: str, call_id: str) -> RecordedCall | None:
    return next((c for c in recorded_calls(assistant, tool_name, limit=50) if c.call_id == call_id), None)
