"""Cutover evidence from the flows and tools steps: the mode is chosen, every tool passes its latest test."""

from __future__ import annotations

from django.urls import reverse

from migrator.core.evidence import Item, State, provider
from migrator.core.status import FlowMode
from migrator.tools.services import tool_gate


@provider("mode", title="State mode chosen", order=20)
def mode_chosen(*, flow, version, config_hash: str) -> Item:
    url = flow.get_absolute_url()
    if not flow.mode:
        return Item("mode", "State mode chosen", State.FAILED, "No state mode is chosen yet.", url=url)
    if flow.mode == FlowMode.PREVIOUS_RESPONSE and not flow.store:
        return Item("mode", "State mode chosen", State.FAILED,
                    "previous_response_id chaining needs store=true, and this flow sends store=false.", url=url)
    reason = f" ({flow.mode_reason})" if flow.mode_reason else ""
    return Item("mode", "State mode chosen", State.PASSED, f"{FlowMode(flow.mode).label}{reason}.", url=url,
                details={"mode": flow.mode, "store": flow.store, "truncation": flow.truncation})


@provider("tools", title="Every tool passes its latest test", order=30)
def tools_pass(*, flow, version, config_hash: str) -> Item:
    url = reverse("tools:assistant_tools", args=[flow.assistant_id]) + f"?v={version.number}"
    gate = tool_gate(flow.assistant, version)
    if not gate.rows:
        return Item("tools", "Every tool passes its latest test", State.NOT_REQUIRED,
                    f"v{version.number} has no tools.", url=url)
    states = [(r.row.label, r.state) for r in gate.rows]
    bad = [f"{label}: {state}" for label, state in states if state != "passed"]
    details = {"tools": [{"tool": label, "state": state} for label, state in states]}
    if bad:
        return Item("tools", "Every tool passes its latest test", State.FAILED,
                    f"{len(bad)} of {len(states)} tools have not passed a test of this exact definition: "
                    + "; ".join(bad[:5]), url=url, details=details)
    return Item("tools", "Every tool passes its latest test", State.PASSED,
                f"All {len(states)} tools passed their latest test.", url=url, details=details)
