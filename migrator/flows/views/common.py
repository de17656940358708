from __future__ import annotations

from typing import Any

from migrator.core.models import Assistant, Connection, Flow
from migrator.core.status import FlowMode
from migrator.flows import codegen, toolset


def sandbox_connection() -> Connection | None:
    """The Sandbox connection row if it exists (pages never create it; starting a test does)."""
    return Connection.objects.filter(is_sandbox=True).order_by("pk").first()


def chosen_connection(raw: str | None) -> Connection | None:
    if raw and str(raw).isdigit():
        found = Connection.objects.filter(pk=int(raw)).first()
        if found:
            return found
    return sandbox_connection()


def assistant_config(assistant: Assistant) -> tuple[dict[str, Any], str]:
    """(responses.create kwargs, where they came from) for code generation."""
    version = toolset.serving_version(assistant) or toolset.latest_version(assistant)
    if version is not None:
        return dict(version.config or {}), f"prompt version v{version.number} of {assistant.display_name}"
    try:
        from migrator.prompts.conversion.convert import convert
        from migrator.prompts.services import legacy_definition

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
    code = codegen.tool_loop(
        config=config,
        mode=mode,
        assistant_name=assistant.display_name,
        flow_slug=flow.slug if flow else "",
        source_label=source,
        truncation=flow.truncation if flow else None,
        store=flow.store if flow else None,
    )
    return code, mode
