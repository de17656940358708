"""What the report pages show: case rows with regressions against a baseline, run comparison, flow trends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrator.validation.models import RunStatus, ValidationRun, Verdict
from migrator.validation.points import case_verdict

RANK = {Verdict.FAIL: 0, Verdict.INCOMPLETE: 1, Verdict.PASS: 2}


@dataclass
class CaseRow:
    case: Any
    verdict: str
    score: float
    results: list = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # failing check names
    reasons: list[str] = field(default_factory=list)
    change: str = ""  # regression | improvement | "" (against the baseline)
    base_verdict: str = ""
    base_score: float | None = None
    flaky: bool = False


def _rows(run: ValidationRun) -> dict[str, CaseRow]:
    grouped: dict[int, list] = {}
    for result in run.results.select_related("case").order_by("case_id", "repeat"):
        grouped.setdefault(result.case_id, []).append(result)
    rows: dict[str, CaseRow] = {}
    for results in grouped.values():
        case = results[0].case
        failing = sorted({c["name"] for r in results for c in r.checks if c["status"] in ("fail", "error")})
        reasons = list(dict.fromkeys(reason for r in results for reason in r.reasons))
        rows[case.key] = CaseRow(case=case, verdict=case_verdict(results), results=results,
                                 score=round(sum(r.score for r in results) / len(results), 4), failing=failing,
                                 reasons=reasons, flaky=len({r.verdict for r in results}) > 1)
    return rows


def _change(row: CaseRow, base: CaseRow | None) -> str:
    if base is None:
        return ""
    if RANK[row.verdict] < RANK[base.verdict]:
        return "regression"
    if RANK[row.verdict] > RANK[base.verdict]:
        return "improvement"
    if row.score < base.score - 0.05:
        return "regression"
    if row.score > base.score + 0.05:
        return "improvement"
    return ""


def default_baseline(run: ValidationRun) -> ValidationRun | None:
    """The previous finished run of the same test set (what "regression" is measured against by default)."""
    if run.test_set_id is None:
        return None
    return (ValidationRun.objects.filter(test_set_id=run.test_set_id, created_at__lt=run.created_at,
                                         status__in=[RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE])
            .order_by("-created_at", "-id").first())


def case_rows(run: ValidationRun, *, baseline: ValidationRun | None = None, check: str = "",
              verdict: str = "") -> list[CaseRow]:
    rows = _rows(run)
    base_rows = _rows(baseline) if baseline is not None else {}
    out = []
    for key, row in rows.items():
        base = base_rows.get(key)
        row.change = _change(row, base)
        if base is not None:
            row.base_verdict, row.base_score = base.verdict, base.score
        if check and check not in row.failing:
            continue
        if verdict and row.verdict != verdict:
            continue
        out.append(row)
    out.sort(key=lambda r: (RANK[r.verdict], r.change != "regression", r.case.thread_legacy_id, r.case.turn,
                            r.case.key))
    return out


def compare(a: ValidationRun, b: ValidationRun) -> dict[str, Any]:
    """Case by case, ``b`` against the baseline ``a`` (cases matched by key, so two test set versions compare)."""
    rows_a, rows_b = _rows(a), _rows(b)
    rows = []
    for key in sorted(set(rows_a) | set(rows_b)):
        left, right = rows_a.get(key), rows_b.get(key)
        change = _change(right, left) if left and right else ("added" if right else "removed")
        rows.append({"key": key, "a": left, "b": right, "change": change,
                     "case": (right or left).case})
    rank = {"regression": 0, "improvement": 1, "added": 2, "removed": 3, "": 4}
    rows.sort(key=lambda r: (rank[r["change"]], r["key"]))
    counts = {k: sum(1 for r in rows if r["change"] == k) for k in ("regression", "improvement", "added", "removed")}
    counts["same"] = sum(1 for r in rows if r["change"] == "")
    return {"rows": rows, "counts": counts}


def trend(runs: list[ValidationRun]) -> list[dict[str, Any]]:
    out = []
    for run in runs:
        total = run.totals.get("cases") or 0
        passed = run.totals.get("cases_passed") or 0
        percent = round(100 * passed / total) if total else 0
        # The trend page's SVG bar: 2 % more than the pass rate (a run with none passing still shows), from the
        # bottom of the chart up.
        out.append({"run": run, "pass_rate": round(passed / total, 4) if total else None, "percent": percent,
                    "bar_height": percent + 2, "bar_top": 98 - percent})
    return out
