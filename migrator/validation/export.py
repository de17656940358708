"""Portability: a test set (and a run's results) as JSONL. The promptfoo export is ``promptfoo.py``."""

from __future__ import annotations

import json
from typing import Any

from migrator.validation.models import TestCase, TestSet, ValidationRun
from migrator.validation.replay import to_input


def _cases(test_set: TestSet, run: ValidationRun | None) -> list[TestCase]:
    if run is not None:
        by_id = TestCase.objects.in_bulk(run.case_ids)
        return [by_id[i] for i in run.case_ids if i in by_id]
    version = test_set.current_version
    return version.cases() if version else []


def jsonl(test_set: TestSet, *, run: ValidationRun | None = None) -> str:
    """One JSON object a line: a case with its recorded answer (and the run's result when given)."""
    results: dict[int, list[dict[str, Any]]] = {}
    if run is not None:
        for r in run.results.order_by("case_id", "repeat"):
            results.setdefault(r.case_id, []).append({
                "repeat": r.repeat, "verdict": r.verdict, "score": r.score, "answer": r.answer_text,
                "tool_calls": r.tool_calls, "reasons": r.reasons, "checks": r.checks})
    lines = []
    for case in _cases(test_set, run):
        row: dict[str, Any] = {
            "key": case.key, "kind": case.kind, "thread_id": case.thread_legacy_id, "turn": case.turn,
            "input": to_input([*case.history, *case.user_input]), "expected": case.expected_text,
            "expected_tool_calls": case.expected_tool_calls, "expected_json": case.expected_json,
            "expectations": case.expectations,
        }
        if run is not None:
            row["results"] = results.get(case.pk, [])
        lines.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")
