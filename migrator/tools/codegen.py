"""A generated Python reference of an assistant's tool-calling loop, in a flow's state mode.

The template is ``templates/tools/codegen/tool_loop.py.txt``; this module prepares what it needs (the call
settings as a Python literal, one stub per function tool with a valid Python name) and tidies the result.
"""

from __future__ import annotations

import keyword
import pprint
import re
from typing import Any

from django.template.loader import render_to_string

from migrator.core.models import Assistant, Flow
from migrator.core.status import FlowMode
from migrator.prompts.conversion.convert import convert
from migrator.prompts.services import legacy_definition
from migrator.tools import toolset

_IDENT = re.compile(r"[^0-9A-Za-z_]")
_PER_REQUEST_KEYS = ("input", "conversation", "previous_response_id", "stream", "background", "prompt")


def python_name(name: str, taken: set[str]) -> str:
    ident = _IDENT.sub("_", name) or "tool"
    if ident[0].isdigit() or keyword.iskeyword(ident) or ident in {"json", "client", "answer", "run_tool"}:
        ident = f"tool_{ident}"
    base, n = ident, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def _docstring(tool: dict[str, Any]) -> str:
    description = str(tool.get("description") or f"The {tool.get('name')} tool.").strip()
    params = tool.get("parameters") if isinstance(tool.get("parameters"), dict) else {}
    props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
    required = set(params.get("required") or [])
    if props:
        parts = []
        for key, schema in props.items():
            kind = schema.get("type") if isinstance(schema, dict) else None
            kind = "|".join(kind) if isinstance(kind, list) else (kind or "any")
            parts.append(f"{key} ({kind}{'' if key in required else ', optional'})")
        description += "\n\n    Arguments: " + ", ".join(parts) + "."
    return description.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _literal(value: Any) -> str:
    try:
        from migrator.prompts.codegen import py_literal
    except ImportError:
        return pprint.pformat(value, width=100, sort_dicts=False)
    return py_literal(value)


def tool_loop(
    *,
    config: dict[str, Any],
    mode: str,
    assistant_name: str,
    flow_slug: str = "",
    source_label: str = "the assistant's configuration",
    truncation: str | None = None,
    store: bool | None = None,
) -> str:
    """Python source for the loop. ``config`` is the responses.create kwargs (minus input)."""
    if mode not in FlowMode.values:
        mode = FlowMode.STATELESS
    config = {k: v for k, v in (config or {}).items() if k not in _PER_REQUEST_KEYS}
    if truncation is not None:
        config["truncation"] = truncation
    if store is not None:
        config["store"] = store
    taken: set[str] = set()
    functions = []
    hosted = []
    for tool in config.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "function" and tool.get("name"):
            functions.append({
                "name": str(tool["name"]).replace('"', ""),
                "python_name": python_name(str(tool["name"]), taken),
                "doc": _docstring(tool),
            })
        elif tool.get("type"):
            hosted.append(str(tool["type"]))
    source = render_to_string(
        "tools/codegen/tool_loop.py.txt",
        {
            "assistant_name": assistant_name.replace('"', "'"),
            "flow_slug": flow_slug,
            "mode": mode,
            "mode_label": FlowMode(mode).label,
            "source_label": source_label,
            "config_literal": _literal(config),
            "functions": functions,
            "hosted": " and ".join(hosted),
            "reasoning": bool(config.get("reasoning")),
        },
    )
    source = re.sub(r"[ \t]+\n", "\n", source)
    source = re.sub(r"\n{4,}", "\n\n\n", source)
    return source.strip() + "\n"


def assistant_config(assistant: Assistant) -> tuple[dict[str, Any], str]:
    """(responses.create kwargs, where they came from) for code generation."""
    version = toolset.serving_version(assistant) or toolset.latest_version(assistant)
    if version is not None:
        return dict(version.config or {}), f"prompt version v{version.number} of {assistant.display_name}"
    try:
        result = convert(legacy_definition(assistant))
        if result.ok:
            return dict(result.kwargs), f"a fresh conversion of {assistant.display_name} (no prompt version yet)"
    except Exception:  # conversion problems are shown on the prompt page; fall back to the bare minimum
        pass
    config: dict[str, Any] = {"model": assistant.model or "gpt-4o", "instructions": assistant.instructions}
    config["tools"] = toolset.new_tools(assistant)
    return config, f"the legacy definition of {assistant.display_name}"


def loop_code(assistant: Assistant, flow: Flow | None) -> tuple[str, str]:
    """(Python source, mode used) of the tool-calling loop for ``flow`` (stateless when it has no mode)."""
    config, source = assistant_config(assistant)
    mode = (flow.mode if flow and flow.mode else FlowMode.STATELESS)
    code = tool_loop(
        config=config,
        mode=mode,
        assistant_name=assistant.display_name,
        flow_slug=flow.slug if flow else "",
        source_label=source,
        truncation=flow.truncation if flow else None,
        store=flow.store if flow else None,
    )
    return code, mode
