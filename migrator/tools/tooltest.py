"""Testing one tool on its own against a live API, and probing the resources tools need.

Everything here takes an ``openai.OpenAI`` client (built by ``migrator.core.openai_client.client_for``) and
returns plain data; the job in ``jobs.py`` stores it. A verdict is one of:

- passed: every check held (warnings, such as a search with no hits, are shown but do not fail);
- failed: the tool is broken as defined: the API rejected it, the arguments broke the schema, a vector
  store or file is missing or expired, or the model did not finish after the tool output;
- error: the test could not reach a verdict (connection refused, rate limit, server error); run it again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from migrator.core import safeinput
from migrator.core.openai_client import describe_error
from migrator.core.release import build_request, make_release
from migrator.tools.models import ResourceState, ToolTestStatus
from migrator.tools.samples import sample_for, validation_errors

SAMPLE_CALCULATION = ("6 * 7", "42")


@dataclass
class Check:
    name: str
    ok: bool | None  # None = a warning: shown, but does not fail the tool
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class Verdict:
    status: str
    summary: str
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0

    @property
    def passed(self) -> bool:
        return self.status == ToolTestStatus.PASSED


class _Stop(Exception):
    """Ends a test early with a verdict (raised after the failing check was recorded)."""

    def __init__(self, status: str, summary: str) -> None:
        super().__init__(summary)
        self.status = status
        self.summary = summary


def classify_api_error(exc: BaseException, *, where: str) -> tuple[str, str]:
    """(verdict, message) for an SDK exception: a rejected definition fails the tool, an outage is an error."""
    message = describe_error(exc, where=where)
    if isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 404, 422):
        return ToolTestStatus.FAILED, message
    return ToolTestStatus.ERROR, message


def _dump(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    return item.model_dump(exclude_none=True) if hasattr(item, "model_dump") else dict(item)


def _output_text(response: Any) -> str:
    try:
        return response.output_text or ""
    except Exception:
        return ""


class ToolTester:
    """Runs the test for one new-shape tool with the prompt version's model and instructions."""

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        instructions: str | None = None,
        reasoning: dict[str, Any] | None = None,
        log: Callable[[str], None] | None = None,
        recorded: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.recorded = recorded  # a call imported runs recorded: its arguments and output replace the samples
        self.model = model
        self.instructions = instructions
        self.reasoning = reasoning
        self.log = log or (lambda message: None)
        self.checks: list[Check] = []
        self.details: dict[str, Any] = {"responses": []}

    # --- plumbing ----------------------------------------------------------------------------------------
    def _check(self, name: str, ok: bool | None, detail: str = "") -> Check:
        check = Check(name, ok, detail)
        self.checks.append(check)
        marker = {True: "ok", False: "FAILED", None: "warning"}[ok]
        self.log(f"{name}: {marker}{' - ' + detail if detail else ''}")
        return check

    def _fail(self, name: str, detail: str, status: str = ToolTestStatus.FAILED) -> None:
        self._check(name, False, detail)
        raise _Stop(status, detail)

    def _create(self, step: str, **kwargs: Any) -> Any:
        base: dict[str, Any] = {"model": self.model, "store": False}
        if self.instructions:
            base["instructions"] = self.instructions
        if self.reasoning:
            base["reasoning"] = self.reasoning
            # Stateless reasoning calls must carry the reasoning items forward themselves.
            base["include"] = [*kwargs.pop("include", []), "reasoning.encrypted_content"]
        # A tool test is a stateless, unstored release of its own (one tool, forced): its request is built by
        # the same function as validation's and production's (migrator.core.release).
        sent = kwargs.pop("input", None)
        spec = make_release(config={**base, **kwargs}, mode="stateless", truncation="disabled", store=False)
        started = time.monotonic()
        try:
            response = self.client.responses.create(**build_request(spec, input=sent))
        except openai.OpenAIError as exc:
            status, message = classify_api_error(exc, where=step)
            self._fail(step, message, status)
        elapsed = int((time.monotonic() - started) * 1000)
        usage = getattr(response, "usage", None)
        self.details["responses"].append({
            "step": step,
            "release": spec.hash,
            "id": getattr(response, "id", ""),
            "status": getattr(response, "status", ""),
            "latency_ms": elapsed,
            "output_types": [getattr(o, "type", "?") for o in response.output or []],
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens} if usage else {},
        })
        return response

    def _finished(self, response: Any, step: str) -> None:
        status = getattr(response, "status", "")
        if status != "completed":
            reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
            error = getattr(getattr(response, "error", None), "message", None)
            self._fail(step, f"the response ended '{status}'" + (f" ({reason or error})" if reason or error else ""))
        text = _output_text(response)
        if not text.strip():
            self._fail(step, "the model returned no text after the tool ran.")
        self.details["final_text"] = text[:500]
        self._check(step, True, f"the model finished with a {len(text)}-character answer.")

    def run(self, tool: dict[str, Any]) -> Verdict:
        started = time.monotonic()
        kind = tool.get("type")
        try:
            if kind == "function":
                summary = self._function(tool)
            elif kind == "file_search":
                summary = self._file_search(tool)
            elif kind == "code_interpreter":
                summary = self._code_interpreter(tool)
            else:
                self._fail("Tool type", f"migrator cannot test '{kind}' tools yet; test this one by hand.")
            status = ToolTestStatus.PASSED
        except _Stop as stop:
            status, summary = stop.status, stop.summary
        warnings = [c for c in self.checks if c.ok is None]
        if status == ToolTestStatus.PASSED and warnings:
            summary += f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})"
        return Verdict(
            status=status,
            summary=summary,
            checks=self.checks,
            details=self.details,
            duration_ms=int((time.monotonic() - started) * 1000),
        )

    # --- function ----------------------------------------------------------------------------------------
    def _function(self, tool: dict[str, Any]) -> str:
        name = str(tool.get("name") or "")
        params = tool.get("parameters") if isinstance(tool.get("parameters"), dict) else None
        sample, recorded_output = _recorded_or_sample(self.recorded, params)
        problems = validation_errors(sample, params) if params else []
        if self.recorded and problems:
            self._check("Recorded input", None, "the recorded arguments no longer fit the schema ("
                        + "; ".join(problems) + "); the model's arguments are still checked.")
        elif self.recorded:
            self._check("Recorded input", True, f"replaying call {self.recorded.get('call_id')} from run "
                        f"{self.recorded.get('run_id')}: " + json.dumps(sample, ensure_ascii=False)[:300])
        elif problems:
            self._check("Sample input", None, "could not generate a sample that fits the schema ("
                        + "; ".join(problems) + "); the model's arguments are still checked.")
        else:
            self._check("Sample input", True, json.dumps(sample, ensure_ascii=False)[:300])
        self.details["sample_input"] = sample
        user_text = _function_prompt(name, sample)
        self.details["user_text"] = user_text
        user = {"role": "user", "content": user_text}

        first = self._create(
            "Forced call",
            input=[user],
            tools=[tool],
            tool_choice={"type": "function", "name": name},
            parallel_tool_calls=False,
        )
        calls = [o for o in first.output or [] if getattr(o, "type", "") == "function_call"]
        if not calls:
            self._fail("Forced call", f"tool_choice forced {name} but the model answered without calling it.")
        call = calls[0]
        if call.name != name:
            self._fail("Forced call", f"the model called {call.name} instead of {name}.")
        self._check("Forced call", True, f"the model called {name} (call_id {call.call_id}).")

        try:
            arguments = safeinput.loads(call.arguments or "{}")
        except ValueError as exc:
            self._fail("Arguments are JSON", f"the arguments are not valid JSON ({safeinput.describe(exc)}): "
                       f"{call.arguments[:200]}")
        self.details["arguments"] = arguments
        if params:
            errors = validation_errors(arguments, params)
            if errors:
                self._fail("Arguments match the schema", "the model's arguments do not match the schema: "
                           + "; ".join(errors))
            self._check("Arguments match the schema", True, json.dumps(arguments, ensure_ascii=False)[:300])
        elif arguments not in ({}, None):
            self._check("Arguments match the schema", None, "the tool declares no parameters but got arguments.")

        output_schema = tool.get("output_schema")
        sample_output = sample_for(output_schema) if isinstance(output_schema, dict) else {
            "status": "ok", "tool": name, "note": "sample output sent by migrator's tool test",
        }
        output = recorded_output if recorded_output is not None else json.dumps(sample_output, ensure_ascii=False)
        self.details["sample_output"] = sample_output if recorded_output is None else recorded_output
        # Stateless loop: resend the call (and any reasoning) with its output; nothing is stored server-side.
        carried = [_dump(o) for o in first.output or [] if getattr(o, "type", "") == "reasoning"]
        second = self._create(
            "Finishes after the output",
            input=[
                user,
                *carried,
                {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
                {"type": "function_call_output", "call_id": call.call_id, "output": output},
            ],
            tools=[tool],
        )
        again = [o for o in second.output or [] if getattr(o, "type", "") == "function_call"]
        if again:
            self._fail("Finishes after the output", f"the model called {again[0].name} again instead of answering; "
                       "check the tool's description and what it returns.")
        self._finished(second, "Finishes after the output")
        return f"{name}: forced call, valid arguments, and the model finished after the tool output."

    # --- file_search -------------------------------------------------------------------------------------
    def _file_search(self, tool: dict[str, Any]) -> str:
        ids = [str(v) for v in tool.get("vector_store_ids") or []]
        if not ids:
            self._fail("Vector stores", "the tool names no vector store (vector_store_ids is empty): attach one on "
                       "the tool's card on the Tools tab, then test again.")
        names = []
        for vs_id in ids:
            state, detail, info = probe_resource(self.client, "vector_store", vs_id)
            if state in (ResourceState.MISSING, ResourceState.EXPIRED):
                self._fail(f"Vector store {vs_id}", detail)
            if state == ResourceState.ERROR:
                self._fail(f"Vector store {vs_id}", detail, ToolTestStatus.ERROR)
            self._check(f"Vector store {vs_id}", True if state == ResourceState.EXISTS else None, detail)
            if not (info.get("file_counts") or {}).get("completed", 1):
                self._check(f"Vector store {vs_id} has files", None, "the store has no indexed files.")
            if info.get("name"):
                names.append(info["name"])
        topic = names[0] if names else "the documents"
        query = f"Search the documents: what does {topic} say about the main policy?"
        self.details["query"] = query
        response = self._create(
            "Search",
            input=[{"role": "user", "content": query}],
            tools=[tool],
            tool_choice={"type": "file_search"},
            include=["file_search_call.results"],
        )
        calls = [o for o in response.output or [] if getattr(o, "type", "") == "file_search_call"]
        if not calls:
            self._fail("Search", "tool_choice forced file_search but the model did not search.")
        call = calls[0]
        if call.status not in ("completed", "searching", "in_progress"):
            self._fail("Search", f"the search ended '{call.status}'.")
        results = call.results or []
        self.details["results"] = [
            {"file_id": r.file_id, "filename": r.filename, "score": r.score} for r in results[:5]
        ]
        if results:
            self._check("Search", True, f"{len(results)} result(s); top hit {results[0].filename or results[0].file_id}.")
        else:
            self._check("Search", None, "the search ran but found nothing for the sample question.")
        self._finished(response, "Answer")
        return f"file_search: {len(ids)} vector store(s) ready and a search ran."

    # --- code_interpreter --------------------------------------------------------------------------------
    def _code_interpreter(self, tool: dict[str, Any]) -> str:
        container = tool.get("container")
        if container is None:
            self._fail("Container", "the tool has no container (an id, or {\"type\": \"auto\"}).")
        resources = []
        if isinstance(container, str):
            resources = [("container", container)]
        elif isinstance(container, dict):
            resources = [("file", str(f)) for f in container.get("file_ids") or []]
        for kind, rid in resources:
            state, detail, _info = probe_resource(self.client, kind, rid)
            if state in (ResourceState.MISSING, ResourceState.EXPIRED):
                self._fail(f"{kind.title()} {rid}", detail)
            if state == ResourceState.ERROR:
                self._fail(f"{kind.title()} {rid}", detail, ToolTestStatus.ERROR)
            self._check(f"{kind.title()} {rid}", True if state == ResourceState.EXISTS else None, detail)
        if not resources:
            self._check("Container files", True, "an automatic container with no files.")
        expression, expected = SAMPLE_CALCULATION
        response = self._create(
            "Runs code",
            input=[{"role": "user", "content": f"Use Python to calculate {expression} and print the result."}],
            tools=[tool],
            tool_choice={"type": "code_interpreter"},
            include=["code_interpreter_call.outputs"],
        )
        calls = [o for o in response.output or [] if getattr(o, "type", "") == "code_interpreter_call"]
        if not calls:
            self._fail("Runs code", "tool_choice forced code_interpreter but the model ran no code.")
        call = calls[0]
        if call.status not in ("completed", "interpreting"):
            self._fail("Runs code", f"the code run ended '{call.status}'.")
        logs = " ".join(getattr(o, "logs", "") or "" for o in call.outputs or [])
        self.details["code"] = (call.code or "")[:500]
        self.details["logs"] = logs[:500]
        if expected in logs:
            self._check("Runs code", True, f"printed {expected} in container {call.container_id}.")
        else:
            self._check("Runs code", None, f"the code ran but its output did not show {expected}.")
        self._finished(response, "Answer")
        return f"code_interpreter: {len(resources)} file(s) present and code ran."


def _recorded_or_sample(recorded: dict[str, Any] | None, params: dict[str, Any] | None) -> tuple[Any, str | None]:
    """(input arguments, output to return): a recorded call's when given, else generated from the schema."""
    if recorded:
        arguments = recorded.get("arguments")
        return (arguments if isinstance(arguments, dict) else {}), recorded.get("output")
    return sample_for(params), None


def _function_prompt(name: str, sample: Any) -> str:
    pairs = []
    if isinstance(sample, dict):
        for key, value in sample.items():
            if isinstance(value, str):
                pairs.append(f'{key}="{value}"' if any(c in value for c in " ,;") else f"{key}={value}")
            elif isinstance(value, bool | int | float):
                pairs.append(f"{key}={json.dumps(value)}")
    text = f"Please call {name}"
    if pairs:
        text += " with " + ", ".join(pairs)
    if isinstance(sample, dict) and sample:
        text += ". All arguments as JSON: " + json.dumps(sample, ensure_ascii=False)
    return text + "."


# --- resources ---------------------------------------------------------------------------------------------


def classify_vector_store(obj: dict[str, Any]) -> tuple[str, str]:
    """The state of a retrieved vector store object (status ``expired|in_progress|completed``)."""
    status = obj.get("status")
    name = obj.get("name") or obj.get("id") or "vector store"
    counts = obj.get("file_counts") or {}
    if status == "expired":
        return ResourceState.EXPIRED, f"{name} has expired and cannot be searched; create a new store from its files."
    if status == "in_progress":
        return ResourceState.NOT_READY, f"{name} is still indexing ({counts.get('in_progress', '?')} file(s) left)."
    if counts.get("failed"):
        return ResourceState.EXISTS, f"{name}: {counts.get('completed', 0)} file(s) indexed, {counts['failed']} failed."
    return ResourceState.EXISTS, f"{name}: {counts.get('completed', 0)} file(s) indexed."


def probe_resource(client: openai.OpenAI, kind: str, resource_id: str) -> tuple[str, str, dict[str, Any]]:
    """(state, readable detail, info) of one vector store, file or container on the client's connection."""
    try:
        if kind == "vector_store":
            obj = client.vector_stores.retrieve(resource_id).model_dump()
            state, detail = classify_vector_store(obj)
            info = {k: obj.get(k) for k in ("name", "status", "file_counts", "expires_at", "last_active_at")}
            return state, detail, info
        if kind == "file":
            obj = client.files.retrieve(resource_id).model_dump()
            info = {k: obj.get(k) for k in ("filename", "bytes", "purpose", "status", "expires_at")}
            if obj.get("expires_at") and obj["expires_at"] < time.time():
                return ResourceState.EXPIRED, f"{obj.get('filename') or resource_id} has expired.", info
            return ResourceState.EXISTS, f"{obj.get('filename') or resource_id} ({obj.get('bytes', 0)} bytes).", info
        if kind == "container":
            obj = client.containers.retrieve(resource_id).model_dump()
            info = {k: obj.get(k) for k in ("name", "status", "last_active_at")}
            if obj.get("status") == "expired":
                return ResourceState.EXPIRED, f"container {resource_id} has expired; use an automatic container.", info
            return ResourceState.EXISTS, f"container {obj.get('name') or resource_id} is {obj.get('status')}.", info
    except openai.NotFoundError:
        label = {"vector_store": "vector store", "file": "file", "container": "container"}.get(kind, kind)
        return ResourceState.MISSING, f"{label} {resource_id} does not exist on this connection.", {}
    except openai.OpenAIError as exc:
        return ResourceState.ERROR, describe_error(exc, where=f"checking {resource_id}"), {}
    return ResourceState.ERROR, f"unknown resource kind {kind!r}", {}
