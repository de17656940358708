"""An assistant's tools as this app sees them: old and new shape side by side, findings, resources, identity.

The new shape comes from the assistant's latest prompt version (what reviewers edit and approve); before any
version exists it comes straight from the prompts app's converter. A tool's identity is its key
("function:get_invoice", "file_search", "code_interpreter") and a hash of its new-shape definition: a test
result counts only for the exact definition that was tested.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from migrator.core.models import Assistant
from migrator.prompts import selectors
from migrator.tools.conversion.convert import convert_tool
from migrator.tools.conversion.strict import lint_schema


@dataclass
class ToolRow:
    index: int
    key: str
    type: str
    name: str
    new: dict[str, Any]
    old: dict[str, Any] | None
    hash: str
    findings: list[dict[str, str]] = field(default_factory=list)
    resources: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)
    ledger: list[dict[str, Any]] = field(default_factory=list)  # what the conversion changed or dropped

    @property
    def label(self) -> str:
        return self.name if self.type == "function" else self.type.replace("_", " ")

    @property
    def slug(self) -> str:
        return self.key.replace(":", "-")


def tool_key(tool: dict[str, Any]) -> str:
    kind = str(tool.get("type") or "unknown")
    if kind == "retrieval":  # the v1 name of file_search
        kind = "file_search"
    if kind == "function":
        name = tool.get("name") or (tool.get("function") or {}).get("name") or "?"
        return f"function:{name}"
    return kind


def tool_hash(tool: dict[str, Any]) -> str:
    canonical = json.dumps(tool, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def resources_of(tool: dict[str, Any]) -> list[tuple[str, str]]:
    """The server-side objects a new-shape tool needs to exist on the connection."""
    kind = tool.get("type")
    if kind == "file_search":
        return [("vector_store", str(v)) for v in tool.get("vector_store_ids") or []]
    if kind == "code_interpreter":
        container = tool.get("container")
        if isinstance(container, str) and container:
            return [("container", container)]
        if isinstance(container, dict):
            return [("file", str(f)) for f in container.get("file_ids") or []]
    return []


# --- the prompts app's versions, read through its selectors ---------------------------------------------------


def latest_version(assistant: Assistant):
    """The version under review (the draft label, else the newest), or None before any version exists.

    It is the same version the prompt review page opens on, so reviewers and tool tests look at one thing.
    """
    return selectors.current_version(assistant)


def serving_version(assistant: Assistant):
    """The version production should use now: production label, else approved (None when neither)."""
    return selectors.serving_version(assistant)


def _finding(obj: Any, where: str) -> dict[str, str]:
    """A lint or conversion finding as a plain dict, whatever object the prompts app returns."""
    if isinstance(obj, dict):
        get = obj.get
    else:

        def get(name: str, default: Any = None) -> Any:
            return getattr(obj, name, default)

    severity = str(get("severity", "") or get("level", "") or "warning").lower()
    if severity not in ("error", "warning", "info"):
        severity = "warning"
    return {
        "kind": str(get("kind", "") or ""),
        "severity": severity,
        "where": str(get("pointer", "") or get("where", "") or get("path", "") or where),
        "message": str(get("message", "") or get("text", "") or obj),
        "fix": str(get("fix", "") or get("suggestion", "") or ""),
    }


@dataclass
class _Converted:
    new: dict[str, Any] | None
    findings: list[Any] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)


def _convert_legacy(tool: dict[str, Any], tool_resources: dict[str, Any], index: int = 0) -> _Converted:
    try:
        converted = convert_tool(tool, tool_resources=tool_resources or {}, index=index)
    except Exception as exc:  # a malformed legacy tool: show why instead of breaking the page
        return _Converted(None, [{"severity": "error", "message": f"Could not convert this tool: {exc}"}])
    new = getattr(converted, "new", None)
    findings = list(getattr(converted, "findings", []) or [])
    findings += [{"severity": "error", "message": str(e)} for e in getattr(converted, "errors", []) or []]
    ledger = []
    for entry in getattr(converted, "ledger", []) or []:
        data = entry.to_dict() if hasattr(entry, "to_dict") else entry
        if isinstance(data, dict) and data.get("outcome") != "transferred":
            ledger.append(data)
    return _Converted(new if isinstance(new, dict) else None, findings, ledger)


def _lint(schema: Any, where: str) -> list:
    try:
        return list(lint_schema(schema, where=where))
    except Exception:
        return []


def _own_checks(tool: dict[str, Any], where: str) -> list[dict[str, str]]:
    """Checks that decide whether a tool can work at all, independent of the converter's lint."""
    out: list[dict[str, str]] = []
    kind = tool.get("type")
    if kind == "function":
        if tool.get("strict") is False:
            out.append({
                "severity": "info", "where": f"{where}.strict",
                "message": "strict is off: the model may send arguments that do not match the schema, so the "
                "tool test validates them.", "fix": "",
            })
        params = tool.get("parameters")
        if params is not None and not isinstance(params, dict):
            out.append({"severity": "error", "where": f"{where}.parameters",
                        "message": "parameters must be a JSON schema object.", "fix": ""})
    elif kind == "file_search" and not tool.get("vector_store_ids"):
        out.append({
            "severity": "error", "where": f"{where}.vector_store_ids",
            "message": "file_search needs at least one vector store id; the assistant had none in tool_resources.",
            "fix": "Attach a vector store on this card (it saves a new draft version), then test again.",
        })
    elif kind == "code_interpreter" and tool.get("container") is None:
        out.append({"severity": "error", "where": f"{where}.container",
                    "message": "code_interpreter needs a container (an id, or {\"type\": \"auto\"}).", "fix": ""})
    return out


def new_tools(assistant: Assistant, version=None) -> list[dict[str, Any]]:
    """The Responses-shape tools: from the version's config, else converted from the legacy definition."""
    if version is not None:
        tools = (version.config or {}).get("tools") or []
        return [t for t in tools if isinstance(t, dict)]
    out = []
    for index, legacy in enumerate(assistant.tools or []):
        if isinstance(legacy, dict):
            converted = _convert_legacy(legacy, assistant.tool_resources, index)
            if converted.new is not None:
                out.append(converted.new)
    return out


def tool_rows(assistant: Assistant, version=None) -> list[ToolRow]:
    legacy_by_key: dict[str, tuple[int, dict[str, Any]]] = {}
    for legacy_index, legacy in enumerate(assistant.tools or []):
        if isinstance(legacy, dict):
            legacy_by_key.setdefault(tool_key(legacy), (legacy_index, legacy))
    rows: list[ToolRow] = []
    seen: dict[str, int] = {}
    for index, tool in enumerate(new_tools(assistant, version)):
        key = tool_key(tool)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # two tools of one kind: keep them apart
            key = f"{key}#{seen[key]}"
        where = f"tools[{index}]"
        legacy_index, old = legacy_by_key.get(key, (0, None))
        findings: list[dict[str, str]] = []
        ledger: list[dict[str, Any]] = []
        if old is not None:
            converted = _convert_legacy(old, assistant.tool_resources, legacy_index)
            for raw in converted.findings:
                finding = _finding(raw, where)
                if finding["kind"] == "strict" and tool.get("strict") is False:
                    # The reviewer kept the original schema with strict off: the rule no longer applies.
                    finding["severity"] = "info"
                    finding["message"] += " (only with strict: true; this version sends strict: false)"
                findings.append(finding)
            ledger = converted.ledger
        if tool.get("type") == "function" and tool.get("strict", True) is not False and tool.get("parameters"):
            findings += [_finding(f, f"{where}.parameters") for f in _lint(tool["parameters"], f"{where}.parameters")]
        findings += _own_checks(tool, where)
        unique: list[dict[str, str]] = []
        for finding in findings:
            if not any(f["message"] == finding["message"] for f in unique):
                unique.append(finding)
        kind = str(tool.get("type") or "unknown")
        rows.append(
            ToolRow(
                index=index,
                key=key,
                type=kind,
                name=str(tool.get("name") or kind) if kind == "function" else kind,
                new=tool,
                old=old,
                hash=tool_hash(tool),
                findings=unique,
                ledger=ledger,
                resources=resources_of(tool),
            )
        )
    return rows


def find_row(assistant: Assistant, version, key: str) -> ToolRow | None:
    return next((row for row in tool_rows(assistant, version) if row.key == key), None)
