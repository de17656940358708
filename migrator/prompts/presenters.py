"""Turn stored ledger/findings/schemas into what the review page shows (pure helpers, escaped HTML)."""

from __future__ import annotations

import json
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from migrator.prompts.decisions import describe_choice, is_decided
from migrator.prompts.diff import word_diff
from migrator.tools.conversion.types import CONFIG, INSTRUCTIONS, OUTCOMES, STRICT

OUTCOME_LABELS = {
    "transferred": "Transferred",
    "changed": "Changed",
    "needs_decision": "Needs a decision",
    "dropped": "Dropped",
}
OUTCOME_BADGES = {"transferred": "ok", "changed": "current", "needs_decision": "warn", "dropped": "unknown"}
SEVERITY_BADGES = {"error": "fail", "warning": "warn", "info": "unknown"}


def ledger_summary(ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = {o: 0 for o in OUTCOMES}
    for entry in ledger:
        counts[entry.get("outcome", "")] = counts.get(entry.get("outcome", ""), 0) + 1
    return [{"outcome": o, "label": OUTCOME_LABELS[o], "count": counts[o], "badge": OUTCOME_BADGES[o]}
            for o in OUTCOMES]


def ledger_rows(ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = {o: i for i, o in enumerate(("needs_decision", "changed", "dropped", "transferred"))}
    rows = []
    for entry in sorted(ledger, key=lambda e: order.get(e.get("outcome"), 9)):
        rows.append({**entry, "label": OUTCOME_LABELS.get(entry.get("outcome"), entry.get("outcome")),
                     "badge": OUTCOME_BADGES.get(entry.get("outcome"), "unknown"),
                     "before_json": _compact(entry.get("before")), "after_json": _compact(entry.get("after"))})
    return rows


def _compact(value: Any, limit: int = 400) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def highlight_instructions(text: str, findings: list[dict[str, Any]]) -> SafeString:
    """The instructions with each finding's span wrapped in <mark> (escaped; overlapping spans are skipped)."""
    spans = sorted(
        ((f["span"][0], f["span"][1], i, f) for i, f in enumerate(findings) if f.get("span")),
        key=lambda s: (s[0], -s[1]),
    )
    out, pos = [], 0
    for start, end, index, finding in spans:
        if start < pos or end > len(text):
            continue
        out.append(escape(text[pos:start]))
        out.append(f'<mark class="lint lint-{escape(finding.get("severity", "warning"))}" id="span-{index}" '
                   f'title="{escape(finding.get("message", ""))}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(escape(text[pos:]))
    return mark_safe("".join(out))  # every piece above is escaped


def instruction_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**f, "index": i, "badge": SEVERITY_BADGES.get(f.get("severity"), "unknown")}
            for i, f in enumerate(findings) if f.get("kind") == INSTRUCTIONS]


def config_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**f, "badge": SEVERITY_BADGES.get(f.get("severity"), "unknown")}
            for f in findings if f.get("kind") == CONFIG]


def schema_panels(schemas: list[dict[str, Any]], findings: list[dict[str, Any]],
                  strict_choices: dict[str, Any]) -> list[dict[str, Any]]:
    """One panel per schema: its strict findings, the fix as a word diff, and the recorded choice."""
    panels = []
    for review in schemas:
        pointer = review.get("pointer", "")
        own = [{**f, "badge": SEVERITY_BADGES.get(f.get("severity"), "unknown")}
               for f in findings if f.get("kind") == STRICT and f.get("schema_pointer") == pointer]
        original = json.dumps(review.get("original"), indent=2, ensure_ascii=False)
        fixed = json.dumps(review.get("fixed"), indent=2, ensure_ascii=False)
        recorded = strict_choices.get(pointer) or {}
        problems = sum(1 for f in own if f.get("severity") != "info")
        sends_fix = review.get("choice") == "fixed" and bool(review.get("strict"))
        # One story per panel: what is sent now, whether that is strict-compatible, and who decided.
        if review.get("compatible"):
            state, badge = "strict-compatible", "ok"
        elif sends_fix:
            state, badge = f"fixed: the {problems} problem{'s' if problems != 1 else ''} below are resolved", "ok"
        else:
            state, badge = f"{problems} problem{'s' if problems != 1 else ''}, sent with strict: false", "warn"
        decided = is_decided(recorded)
        panels.append({
            **review,
            "findings": own,
            "problem_count": problems,
            "diff": word_diff(original, fixed),
            "recorded": recorded,
            "decided": decided,
            "state": state,
            "state_badge": badge,
            "sends": "fixed schema · strict: true" if sends_fix else
                     ("schema as written · strict: true" if review.get("strict") else "original schema · strict: false"),
            "explanation": describe_choice(recorded) if decided else review.get("reason", ""),
            "findings_title": "Problems in the original schema, resolved by the fix:" if sends_fix and problems else "",
        })
    return panels
