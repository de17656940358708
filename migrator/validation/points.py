"""The five validation points, per-check pass rates, totals and the run's verdict, from saved results.

Points answer ``pass``, ``fail``, ``incomplete`` (could not be established: never counted as passed) or
``not_applicable`` (nothing in this test set calls for it, e.g. no structured output at all).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from migrator.core.status import FlowMode
from migrator.validation.checks import ERROR, FAIL, PASS, similarity
from migrator.validation.models import POINTS, Verdict
from migrator.validation.replay import TurnOutcome

NA = "not_applicable"
INCOMPLETE = "incomplete"


def describe_free_run(thread_id: str, turns: list, outcomes: list[TurnOutcome], forced: dict[str, TurnOutcome],
                      threshold: float, *, is_sample: bool) -> dict[str, Any]:
    rows = []
    for case, outcome in zip(turns, outcomes, strict=False):
        expected = [c["name"] for c in case.expected_tool_calls or []]
        got = [c["name"] for c in outcome.tool_calls]
        sim_recorded = similarity(case.expected_text, outcome.text) if case.expected_text else None
        teacher = forced.get(case.key)
        sim_forced = similarity(teacher.text, outcome.text) if teacher is not None and teacher.text else None
        best = max([s for s in (sim_recorded, sim_forced) if s is not None], default=None)
        reason = ""
        if outcome.error:
            reason = outcome.error
        elif outcome.unmatched:
            reason = f"called {', '.join(c['name'] for c in outcome.unmatched)} with no recorded output"
        elif Counter(expected) != Counter(got):
            missing = sorted((Counter(expected) - Counter(got)).elements())
            reason = (f"{', '.join(missing)} was not called" if missing
                      else f"called {', '.join(got)}, recorded {', '.join(expected) or 'no tool'}")
        elif best is not None and best < threshold:
            reason = f"answered differently than with the recorded history (similarity {best:.2f})"
        rows.append({"turn": case.turn, "key": case.key, "user": case.input_text[:500], "answer": outcome.text[:2000],
                     "recorded": case.expected_text[:2000], "error": outcome.error,
                     "retryable": outcome.error_retryable, "tools": got, "recorded_tools": expected,
                     "similarity_recorded": sim_recorded, "similarity_forced": sim_forced,
                     "ok": not reason, "reason": reason})
    if len(outcomes) > len(turns):  # the conversation could not even be created
        extra = outcomes[-1]
        rows.append({"turn": 0, "key": "", "user": "", "answer": "", "recorded": "", "error": extra.error,
                     "retryable": extra.error_retryable, "tools": [], "recorded_tools": [],
                     "similarity_recorded": None, "similarity_forced": None, "ok": False,
                     "reason": f"could not start the chat: {extra.error}"})
    return {"thread_id": thread_id, "is_sample": is_sample, "turns_total": len(turns),
            "turns_run": len(rows), "ok": bool(rows) and all(r["ok"] for r in rows) and len(rows) >= len(turns),
            "turns": rows}


def _point(key: str, status: str, detail: str, **extra: Any) -> dict[str, Any]:
    title = next(p.title for p in POINTS if p.key == key)
    return {"key": key, "title": title, "status": status, "detail": detail, **extra}


def _new_chat(free_runs: list[dict[str, Any]]) -> dict[str, Any]:
    if not free_runs or not free_runs[0]["turns"]:
        return _point("new_chat", INCOMPLETE, "No recorded thread to start a new chat from.")
    first = free_runs[0]["turns"][0]
    where = f"thread {free_runs[0]['thread_id']}"
    if first["error"]:
        return _point("new_chat", INCOMPLETE if first["retryable"] else FAIL,
                      f"The first turn of {where} did not complete: {first['error']}")
    if first["reason"] and not first["answer"]:
        return _point("new_chat", FAIL, f"The first turn of {where}: {first['reason']}")
    return _point("new_chat", PASS, f"A new chat from {where} completed its first turn end to end.")


def _mode(value: str) -> str:
    """"conversation mode", "chained responses mode": the mode in words, not its stored value."""
    label = FlowMode(value).label if value in FlowMode.values else str(value)
    return f"{label.partition(' (')[0].lower()} mode"


def _state(free_runs: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    multi = [fr for fr in free_runs if fr["turns_total"] > 1]
    if not multi:
        return _point("state", NA, "No multi-turn thread in this test set: there is no state to carry.")
    incomplete = []
    for fr in multi:
        for row in fr["turns"]:
            if row["ok"]:
                continue
            if row["error"] and row["retryable"]:
                incomplete.append(f"thread {fr['thread_id']} turn {row['turn']}: {row['error']}")
                break
            if row["turn"] == 1 and not row["error"]:
                continue  # a first-turn difference is not about state (the other points report it)
            if not row["error"] and (Counter(row["tools"]) != Counter(row["recorded_tools"])
                                     or row["reason"].startswith("called ")):
                continue  # a missing or unexpected tool call is the tools point's finding, not a lost state
            return _point("state", FAIL, f"Thread {fr['thread_id']} turn {row['turn']} in {_mode(mode)}: "
                                         f"{row['reason']}. The state did not carry.")
    if incomplete:
        return _point("state", INCOMPLETE, "Could not finish: " + "; ".join(incomplete[:3]))
    turns = sum(fr["turns_total"] for fr in multi)
    return _point("state", PASS, f"{len(multi)} whole thread(s), {turns} turns, kept their state in {_mode(mode)}.")


def _tools(cases: list, per_case: dict[int, list]) -> dict[str, Any]:
    tool_cases = [c for c in cases if c.expected_tool_calls]
    if not tool_cases:
        return _point("tools", NA, "No recorded turn calls a function tool.")
    missed: Counter[str] = Counter()
    extra: Counter[str] = Counter()
    failing, incomplete = [], []
    for case in tool_cases:
        for result in per_case.get(case.pk, []):
            checks = {c["name"]: c for c in result.checks}
            names = checks.get("tool_names")
            completed = checks.get("completed")
            if completed and completed["status"] == ERROR:
                incomplete.append(case.key)
                continue
            if names is None or names["status"] == FAIL or (completed and completed["status"] == FAIL):
                failing.append(case.key)
                missed.update(set((names or {}).get("missed") or [c["name"] for c in case.expected_tool_calls]))
                extra.update(set((names or {}).get("extra") or []))
    if failing:
        words = [f"{name} was not called in {n} case(s)" for name, n in missed.most_common()]
        words += [f"{name} was called with no recording in {n} case(s)" for name, n in extra.most_common()]
        return _point("tools", FAIL, f"{len(set(failing))} of {len(tool_cases)} tool case(s) fail: "
                      + ("; ".join(words) or "calls did not complete") + ".",
                      missed=sorted(missed), cases=sorted(set(failing))[:20])
    if incomplete:
        return _point("tools", INCOMPLETE, f"{len(set(incomplete))} tool case(s) could not be replayed.")
    names = sorted({c["name"] for case in tool_cases for c in case.expected_tool_calls})
    return _point("tools", PASS, f"Every recorded call still works ({', '.join(names)}; {len(tool_cases)} cases).")


def _contract(cases: list, per_case: dict[int, list], contract: dict, contract_missing: str) -> dict[str, Any]:
    if contract_missing:
        return _point("contract", FAIL, contract_missing[:1].upper() + contract_missing[1:] + ".")
    structured = [c for c in cases if contract or c.expected_json is not None]
    if not structured:
        return _point("contract", NA, "Neither the configuration nor the recorded answers use structured output.")
    bad, errors = [], []
    for case in structured:
        for result in per_case.get(case.pk, []):
            for check in result.checks:
                if check["name"] in ("json_valid", "json_schema"):
                    if check["status"] == FAIL:
                        bad.append(f"{case.key}: {check['detail']}")
                    elif check["status"] == ERROR:
                        errors.append(case.key)
            completed = next((c for c in result.checks if c["name"] == "completed"), None)
            if completed and completed["status"] == ERROR:
                errors.append(case.key)
    if bad:
        return _point("contract", FAIL, f"{len(bad)} answer(s) break the contract, e.g. {bad[0]}.")
    if errors:
        return _point("contract", INCOMPLETE, f"{len(set(errors))} structured case(s) could not be checked.")
    name = contract.get("name") or contract.get("type") or "JSON"
    return _point("contract", PASS, f"{len(structured)} structured answer(s) match {name}.")


def _workflow(free_runs: list[dict[str, Any]]) -> dict[str, Any]:
    sample = next((fr for fr in free_runs if fr["is_sample"]), free_runs[0] if free_runs else None)
    if sample is None:
        return _point("workflow", INCOMPLETE, "No recorded thread to run as a sample production workflow.")
    bad = next((row for row in sample["turns"] if not row["ok"]), None)
    if bad is None and sample["turns_run"] >= sample["turns_total"]:
        return _point("workflow", PASS, f"Thread {sample['thread_id']} ran all {sample['turns_total']} turn(s) "
                                        "with its recorded tool outputs.", thread_id=sample["thread_id"])
    if bad is not None and bad["error"] and bad["retryable"]:
        return _point("workflow", INCOMPLETE, f"Thread {sample['thread_id']} turn {bad['turn']}: {bad['error']}",
                      thread_id=sample["thread_id"])
    return _point("workflow", FAIL, f"Thread {sample['thread_id']} turn {bad['turn'] if bad else '?'}: "
                                    f"{bad['reason'] if bad else 'stopped early'}.", thread_id=sample["thread_id"])


def case_verdict(results: list) -> str:
    verdicts = {r.verdict for r in results}
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.INCOMPLETE in verdicts or not verdicts:
        return Verdict.INCOMPLETE
    return Verdict.PASS


def _percentile(values: list[int], pct: float) -> int:
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, round(pct / 100 * (len(values) - 1)))]


def summarize(run, cases: list, results: list, free_runs: list[dict[str, Any]], contract: dict,
              contract_missing: str) -> dict[str, Any]:
    per_case: dict[int, list] = defaultdict(list)
    for result in results:
        per_case[result.case_id].append(result)
    verdicts = {case.pk: case_verdict(per_case.get(case.pk, [])) for case in cases}
    flaky = [case.key for case in cases if len({r.verdict for r in per_case.get(case.pk, [])}) > 1]
    points = [_new_chat(free_runs), _state(free_runs, run.mode), _tools(cases, per_case),
              _contract(cases, per_case, contract, contract_missing), _workflow(free_runs)]
    by_check: dict[str, dict[str, Any]] = {}
    for result in results:
        for check in result.checks:
            row = by_check.setdefault(check["name"], {"name": check["name"], "label": check["label"], "ran": 0,
                                                      "passed": 0, "failed": 0, "errors": 0, "score_sum": 0.0,
                                                      "threshold": check["threshold"], "weight": check["weight"],
                                                      "blocking": check["blocking"]})
            if check["status"] == "skipped":
                continue
            row["ran"] += 1
            row["passed"] += check["status"] == PASS
            row["failed"] += check["status"] == FAIL
            row["errors"] += check["status"] == ERROR
            row["score_sum"] += float(check["score"])
    checks = []
    for row in by_check.values():
        ran = row.pop("ran")
        score_sum = row.pop("score_sum")
        checks.append({**row, "ran": ran, "pass_rate": round(row["passed"] / ran, 4) if ran else None,
                       "mean_score": round(score_sum / ran, 4) if ran else None})
    order = {name: i for i, name in enumerate(run.options.get("checks") or {})}
    checks.sort(key=lambda c: order.get(c["name"], 99))
    counts = Counter(verdicts.values())
    latencies = [r.latency_ms for r in results]
    ttfts = [r.ttft_ms for r in results if r.ttft_ms is not None]
    costs = [r.cost_usd for r in results]
    totals = {
        "cases": len(cases), "results": len(results),
        "cases_passed": counts[Verdict.PASS], "cases_failed": counts[Verdict.FAIL],
        "cases_incomplete": counts[Verdict.INCOMPLETE],
        "results_passed": sum(r.verdict == Verdict.PASS for r in results),
        "results_failed": sum(r.verdict == Verdict.FAIL for r in results),
        "flaky": flaky,
        "input_tokens": sum(r.input_tokens for r in results), "output_tokens": sum(r.output_tokens for r in results),
        "cost_usd": round(sum(costs), 6) if costs and all(c is not None for c in costs) else None,
        "latency_p50_ms": _percentile(latencies, 50), "latency_p95_ms": _percentile(latencies, 95),
        "streamed": bool(run.options.get("stream")),
        "ttft_p50_ms": _percentile(ttfts, 50) if ttfts else None,
        "ttft_p95_ms": _percentile(ttfts, 95) if ttfts else None,
    }
    failing_points = [p for p in points if p["status"] == FAIL]
    open_points = [p for p in points if p["status"] == INCOMPLETE]
    if not cases:
        verdict, sentence = Verdict.INCOMPLETE, "Incomplete: the run had no cases."
    elif counts[Verdict.FAIL] or failing_points:
        verdict = Verdict.FAIL
        parts = []
        if counts[Verdict.FAIL]:
            parts.append(f"{counts[Verdict.FAIL]} of {len(cases)} case(s) fail")
        if failing_points:
            parts.append("failing points: " + "; ".join(f"{p['title']} ({p['detail']})" for p in failing_points))
        sentence = "Failed: " + "; ".join(parts)
    elif counts[Verdict.INCOMPLETE] or open_points:
        verdict = Verdict.INCOMPLETE
        parts = []
        if counts[Verdict.INCOMPLETE]:
            parts.append(f"{counts[Verdict.INCOMPLETE]} case(s) could not be checked")
        if open_points:
            parts.append("points not established: " + ", ".join(p["title"] for p in open_points))
        sentence = "Incomplete: " + "; ".join(parts)
    else:
        verdict = Verdict.PASS
        held = sum(p["status"] == PASS for p in points)
        sentence = (f"Passed: all {len(cases)} case(s) pass"
                    f"{f' on each of {run.repeats} repeats' if run.repeats > 1 else ''}; "
                    f"{held} of 5 points hold, the rest do not apply.")
    if flaky:
        sentence += f" Flaky: {len(flaky)} case(s) changed verdict between repeats."
    return {"verdict": verdict, "sentence": sentence[:2000], "points": points, "checks": checks, "totals": totals,
            "case_verdicts": verdicts}


def case_rows(results: list, verdict: str) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.verdict != verdict or result.case.key in rows:
            continue
        rows[result.case.key] = {"case": result.case.key, "thread_id": result.case.thread_legacy_id,
                                 "turn": result.case.turn, "score": result.score, "reasons": result.reasons[:5]}
    return list(rows.values())


def borderline_rows(results: list, settings: dict[str, Any], margin: float = 0.1) -> list[dict[str, Any]]:
    """Passing cases with a check within ``margin`` of its threshold: the ones to read before a cutover."""
    rows = []
    for result in results:
        if result.verdict != Verdict.PASS:
            continue
        close = [c for c in result.checks if c["status"] == PASS and c.get("threshold") not in (None, 0)
                 and c["name"] not in ("latency", "tokens", "cost")
                 and float(c["score"]) < float(c["threshold"]) + margin and float(c["threshold"]) < 1]
        if close:
            rows.append({"case": result.case.key, "thread_id": result.case.thread_legacy_id, "turn": result.case.turn,
                         "score": result.score,
                         "reasons": [f"{c['label']} {c['score']:.2f} (threshold {c['threshold']})" for c in close]})
    return rows
