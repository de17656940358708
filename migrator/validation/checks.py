"""Checks: each scores one replayed case against its recording, with a threshold, a weight and a blocking flag.

A check answers ``pass``, ``fail``, ``error`` (it could not run: the case becomes incomplete, never passed) or
``skipped`` (it does not apply to this case). A case fails on any blocking failure whatever its average; else
it passes when the weighted mean of the scores that ran reaches ``case_threshold``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff
from rapidfuzz import fuzz, utils

from migrator.tools.samples import validation_errors
from migrator.validation.cases import parse_json
from migrator.validation.pricing import estimate_cost
from migrator.validation.replay import TurnOutcome

PASS, FAIL, ERROR, SKIPPED = "pass", "fail", "error", "skipped"


@dataclass(frozen=True)
class CheckSpec:
    name: str
    label: str
    threshold: float | None
    weight: float
    blocking: bool
    enabled: bool = True
    help: str = ""


DEFAULT_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("expectations", "Expected text (exact / contains / regex)", 1.0, 2, True,
              help="Hand-written expectations of a case, all of which must hold."),
    CheckSpec("completed", "Turn completed", 1.0, 1, True,
              help="The API answered and the turn ended with a reply (no error, no unanswered call)."),
    CheckSpec("tool_names", "Tool calls: names (F1)", 1.0, 2, True,
              help="F1 of the tool names called against the recorded calls; a call with no recording scores 0."),
    CheckSpec("tool_args", "Tool calls: arguments", 1.0, 1, False,
              help="Share of matched calls whose arguments agree (partial: the recorded keys; exact: all)."),
    CheckSpec("tool_order", "Tool calls: order", 1.0, 0.5, False,
              help="The calls were made in the recorded order."),
    CheckSpec("json_valid", "Valid JSON", 1.0, 1, True,
              help="When the contract or the recorded answer is JSON, the new answer parses as JSON."),
    CheckSpec("json_schema", "Output schema (contract)", 1.0, 2, True,
              help="The answer validates against the configuration's own output schema (the contract)."),
    CheckSpec("json_diff", "JSON fields vs recorded", 0.8, 1, False,
              help="Share of the recorded answer's fields the new answer keeps unchanged (deepdiff)."),
    CheckSpec("text_similarity", "Text similarity (offline)", 0.6, 1, False,
              help="rapidfuzz token-sort ratio of the new answer against the recorded one."),
    CheckSpec("embedding_similarity", "Text similarity (embeddings)", 0.85, 1, False, enabled=False,
              help="Cosine similarity of embeddings through the connection's /embeddings."),
    CheckSpec("refusal", "No new refusal", 1.0, 1, True,
              help="The new answer refuses where the recorded one did not."),
    CheckSpec("llm_judge", "LLM judge", 0.7, 1, False, enabled=False,
              help="A rubric scored by a model through the connection. Optional; never required."),
    CheckSpec("latency", "Latency", None, 0, False, help="Threshold in milliseconds (none: informational)."),
    CheckSpec("tokens", "Tokens", None, 0, False, help="Threshold in total tokens (none: informational)."),
    CheckSpec("cost", "Estimated cost", None, 0, False, help="Threshold in USD per case (none: informational)."),
)
CHECKS_BY_NAME = {c.name: c for c in DEFAULT_CHECKS}
CASE_THRESHOLD = 0.7
REFUSAL_RE = re.compile(r"^\s*(i'?m sorry,? but |sorry,? )?i (can(?:no|')t|cannot|won'?t|am unable to|'m unable to) "
                        r"(help|assist|comply|do that|provide)", re.IGNORECASE)


def resolve(overrides: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The effective settings of every check: defaults merged with a test set's or run's overrides."""
    out: dict[str, dict[str, Any]] = {}
    overrides = overrides or {}
    for spec in DEFAULT_CHECKS:
        mine = overrides.get(spec.name) if isinstance(overrides.get(spec.name), dict) else {}
        out[spec.name] = {
            "label": spec.label,
            "threshold": mine.get("threshold", spec.threshold),
            "weight": float(mine.get("weight", spec.weight)),
            "blocking": bool(mine.get("blocking", spec.blocking)),
            "enabled": bool(mine.get("enabled", spec.enabled)),
            **{k: v for k, v in mine.items() if k not in ("threshold", "weight", "blocking", "enabled")},
        }
    out["_case_threshold"] = {"value": float((overrides.get("_case_threshold") or {}).get("value", CASE_THRESHOLD))
                              if isinstance(overrides.get("_case_threshold"), dict) else CASE_THRESHOLD}
    return out


def similarity(a: str, b: str) -> float:
    if not a and not b:
        return 1.0
    return fuzz.token_sort_ratio(a or "", b or "", processor=utils.default_process) / 100.0


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def is_refusal(outcome: TurnOutcome) -> bool:
    return bool(outcome.refusal) or bool(REFUSAL_RE.match(outcome.text or ""))


def _f1(expected: list[str], got: list[str]) -> float:
    if not expected and not got:
        return 1.0
    common = sum((Counter(expected) & Counter(got)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _args(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return text


def _fields(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_fields(v) for v in value.values()) or 1
    if isinstance(value, list):
        return sum(_fields(v) for v in value) or 1
    return 1


def _diff_words(diff: DeepDiff, limit: int = 4) -> list[str]:
    words = []
    for change in ("values_changed", "type_changes", "dictionary_item_removed", "dictionary_item_added",
                   "iterable_item_removed", "iterable_item_added"):
        for path in list(diff.get(change, []))[:limit]:
            words.append(f"{change.replace('_', ' ')} at {str(path).replace('root', '') or '/'}")
    return words[:limit]


@dataclass
class CaseFacts:
    """What a check needs to know about the case (plain data, so checks run without the ORM)."""

    expected_text: str
    expected_tool_calls: list[dict[str, Any]]
    expected_json: Any
    expectations: list[dict[str, Any]]
    contract: dict[str, Any]  # the configuration's own format, else the recorded one (see services)
    contract_missing: str = ""  # set when the recording followed a schema the configuration no longer sends
    model: str = ""


class Scorer:
    """Scores outcomes with resolved settings. ``embed(texts) -> vectors`` and ``judge(...)`` are optional."""

    def __init__(self, settings: dict[str, dict[str, Any]], *,
                 embed: Callable[[list[str]], list[list[float]]] | None = None,
                 judge: Callable[[CaseFacts, TurnOutcome, str], dict[str, Any]] | None = None) -> None:
        self.settings = settings
        self.embed = embed
        self.judge = judge

    def _result(self, name: str, status: str, score: float, detail: str, **extra: Any) -> dict[str, Any]:
        s = self.settings[name]
        return {"name": name, "label": s["label"], "status": status, "score": round(float(score), 4),
                "threshold": s["threshold"], "weight": s["weight"], "blocking": s["blocking"], "detail": detail,
                **extra}

    def _threshold(self, name: str, score: float, detail: str) -> dict[str, Any]:
        threshold = self.settings[name]["threshold"]
        ok = threshold is None or score >= float(threshold) - 1e-9
        return self._result(name, PASS if ok else FAIL, score, detail)

    def score(self, facts: CaseFacts, outcome: TurnOutcome) -> tuple[str, float, list[dict[str, Any]], list[str]]:
        """(verdict, weighted score, check results, reasons in words)."""
        results: list[dict[str, Any]] = []
        for spec in DEFAULT_CHECKS:
            if not self.settings[spec.name]["enabled"]:
                continue
            try:
                result = getattr(self, f"check_{spec.name}")(facts, outcome)
            except Exception as exc:  # a scorer that breaks makes the case incomplete, never passed
                result = self._result(spec.name, ERROR, 0, f"could not run: {type(exc).__name__}: {exc}")
            if result is not None:
                results.append(result)
        return self.verdict(results)

    def verdict(self, results: list[dict[str, Any]]) -> tuple[str, float, list[dict[str, Any]], list[str]]:
        ran = [r for r in results if r["status"] in (PASS, FAIL)]
        total_weight = sum(r["weight"] for r in ran)
        score = sum(r["weight"] * r["score"] for r in ran) / total_weight if total_weight else 0.0
        reasons = [f"{r['label']}: {r['detail']}" for r in results if r["status"] in (FAIL, ERROR)]
        if any(r["status"] == FAIL and r["blocking"] for r in results):
            return "fail", score, results, reasons
        if any(r["status"] == ERROR for r in results):
            return "incomplete", score, results, reasons
        if total_weight and score < self.settings["_case_threshold"]["value"]:
            reasons.append(f"weighted score {score:.2f} is below {self.settings['_case_threshold']['value']:.2f}")
            return "fail", score, results, reasons
        return "pass", score, results, reasons

    # -- the checks (None = does not apply) --

    def check_expectations(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if not facts.expectations:
            return None
        misses = []
        text = outcome.text or ""
        for exp in facts.expectations:
            kind, value = exp.get("type"), str(exp.get("value", ""))
            if kind == "exact":
                ok = text.strip() == value.strip()
            elif kind == "contains":
                ok = value.lower() in text.lower()
            elif kind == "not_contains":
                ok = value.lower() not in text.lower()
            elif kind == "regex":
                ok = re.search(value, text) is not None
            else:
                raise ValueError(f"unknown expectation type {kind!r}")
            if not ok:
                misses.append(f"{kind} {value!r}")
        passed = len(facts.expectations) - len(misses)
        detail = "all expectations hold" if not misses else "not met: " + "; ".join(misses)
        return self._result("expectations", PASS if not misses else FAIL, passed / len(facts.expectations), detail)

    def check_completed(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any]:
        if outcome.error:
            status = ERROR if outcome.error_retryable else FAIL
            return self._result("completed", status, 0, outcome.error)
        if outcome.unmatched:
            names = ", ".join(sorted({c["name"] for c in outcome.unmatched}))
            return self._result("completed", FAIL, 0, f"the model called {names} with no recorded output to answer "
                                                      "it (flagged, not invented)")
        if not outcome.completed:
            return self._result("completed", FAIL, 0, f"the response ended {outcome.status or 'without a reply'}")
        return self._result("completed", PASS, 1, "completed")

    def check_tool_names(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        expected = [c["name"] for c in facts.expected_tool_calls]
        got = [c["name"] for c in outcome.tool_calls]
        if not expected and not got:
            return None
        f1 = _f1(expected, got)
        missed = sorted((Counter(expected) - Counter(got)).elements())
        extra = sorted((Counter(got) - Counter(expected)).elements())
        parts = []
        if missed:
            parts.append(f"{', '.join(dict.fromkeys(missed))} was not called")
        if extra:
            parts.append(f"{', '.join(dict.fromkeys(extra))} was called without a recording")
        detail = "; ".join(parts) or f"called {', '.join(got)} as recorded"
        return self._threshold("tool_names", f1, detail) | {"missed": missed, "extra": extra}

    def check_tool_args(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if not facts.expected_tool_calls or not outcome.tool_calls:
            return None
        mode = self.settings["tool_args"].get("mode", "partial")
        pool = list(facts.expected_tool_calls)
        agree, drift = 0, []
        for call in outcome.tool_calls:
            same = [r for r in pool if r["name"] == call["name"]]
            if not same:
                continue
            got = _args(call["arguments"])
            best = max(same, key=lambda r: _agreement(_args(r["arguments"]), got, mode))
            pool.remove(best)
            if _agreement(_args(best["arguments"]), got, mode) >= 1.0:
                agree += 1
            else:
                drift.append(f"{call['name']} got {call['arguments']} (recorded {best['arguments']})")
        compared = agree + len(drift)
        if not compared:
            return None
        detail = "arguments as recorded" if not drift else "argument drift: " + "; ".join(drift[:3])
        return self._threshold("tool_args", agree / compared, detail)

    def check_tool_order(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        expected = [c["name"] for c in facts.expected_tool_calls]
        got = [c["name"] for c in outcome.tool_calls if c["name"] in expected]
        if len(expected) < 2 or not got:
            return None
        order = [n for n in expected if n in got]
        ok = got == order[:len(got)]
        return self._result("tool_order", PASS if ok else FAIL, 1.0 if ok else 0.0,
                            "same order" if ok else f"called {' → '.join(got)}, recorded {' → '.join(expected)}")

    def _wants_json(self, facts: CaseFacts) -> bool:
        return bool(facts.contract) or facts.expected_json is not None

    def check_json_valid(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if not self._wants_json(facts) or outcome.error or outcome.unmatched:
            return None
        ok, _ = parse_json(outcome.text)
        return self._result("json_valid", PASS if ok else FAIL, 1.0 if ok else 0.0,
                            "the answer is JSON" if ok else "the answer is not valid JSON")

    def check_json_schema(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if facts.contract_missing:
            return self._result("json_schema", FAIL, 0, facts.contract_missing)
        schema = facts.contract.get("schema") if facts.contract.get("type") == "json_schema" else None
        if not schema or outcome.error or outcome.unmatched:
            return None
        ok, value = parse_json(outcome.text)
        if not ok:
            return self._result("json_schema", FAIL, 0, "the answer is not JSON, so it cannot match the schema")
        errors = validation_errors(value, schema)
        return self._result("json_schema", PASS if not errors else FAIL, 0.0 if errors else 1.0,
                            f"matches {facts.contract.get('name') or 'the schema'}" if not errors
                            else "; ".join(errors[:3]))

    def check_json_diff(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if facts.expected_json is None or outcome.error:
            return None
        ok, value = parse_json(outcome.text)
        if not ok:
            return None  # json_valid says so; a diff against nothing says nothing more
        diff = DeepDiff(facts.expected_json, value, ignore_order=True, verbose_level=1)
        changed = sum(len(v) for v in diff.values()) if diff else 0
        score = max(0.0, 1 - changed / _fields(facts.expected_json))
        return self._threshold("json_diff", score, "same fields and values" if not diff else
                               f"{changed} field difference(s): " + "; ".join(_diff_words(diff)))

    def check_text_similarity(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if not facts.expected_text or outcome.error or outcome.unmatched:
            return None
        score = similarity(facts.expected_text, outcome.text)
        return self._threshold("text_similarity", score, f"{score:.2f} similar to the recorded answer")

    def check_embedding_similarity(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if not facts.expected_text or outcome.error or outcome.unmatched:
            return None
        if self.embed is None:
            return self._result("embedding_similarity", ERROR, 0, "embeddings are enabled but unavailable")
        a, b = self.embed([facts.expected_text, outcome.text or " "])
        score = cosine(a, b)
        return self._threshold("embedding_similarity", score, f"cosine {score:.3f} to the recorded answer")

    def check_refusal(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if outcome.error:
            return None
        was = bool(REFUSAL_RE.match(facts.expected_text or ""))
        now = is_refusal(outcome)
        if now and not was:
            return self._result("refusal", FAIL, 0, f"the new answer refuses: {(outcome.refusal or outcome.text)[:120]}")
        return self._result("refusal", PASS, 1, "refused as recorded" if now else "no refusal")

    def check_llm_judge(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any] | None:
        if outcome.error or not facts.expected_text:
            return None
        if self.judge is None:
            return self._result("llm_judge", ERROR, 0, "the judge is enabled but has no connection")
        verdict = self.judge(facts, outcome, str(self.settings["llm_judge"].get("rubric") or ""))
        score = max(0.0, min(1.0, float(verdict.get("score", 0))))
        return self._threshold("llm_judge", score, str(verdict.get("reason") or "")[:300])

    def check_latency(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any]:
        ms = round(outcome.total_seconds * 1000)
        limit = self.settings["latency"]["threshold"]
        ok = limit is None or ms <= float(limit)
        return self._result("latency", PASS if ok else FAIL, 1.0 if ok else 0.0,
                            f"{ms} ms" + (f" (limit {limit} ms)" if limit is not None else ""), value=ms)

    def check_tokens(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any]:
        total = outcome.input_tokens + outcome.output_tokens
        limit = self.settings["tokens"]["threshold"]
        ok = limit is None or total <= float(limit)
        return self._result("tokens", PASS if ok else FAIL, 1.0 if ok else 0.0,
                            f"{outcome.input_tokens} in + {outcome.output_tokens} out", value=total)

    def check_cost(self, facts: CaseFacts, outcome: TurnOutcome) -> dict[str, Any]:
        cost = estimate_cost(facts.model, outcome.input_tokens, outcome.output_tokens)
        limit = self.settings["cost"]["threshold"]
        if cost is None:
            return self._result("cost", SKIPPED, 0, f"no price known for {facts.model or 'this model'}", value=None)
        ok = limit is None or cost <= float(limit)
        return self._result("cost", PASS if ok else FAIL, 1.0 if ok else 0.0, f"${cost:.6f}", value=cost)


def _agreement(recorded: Any, got: Any, mode: str) -> float:
    if mode == "exact" or not isinstance(recorded, dict) or not isinstance(got, dict):
        return 1.0 if recorded == got else 0.0
    if not recorded:
        return 1.0
    return sum(1 for k, v in recorded.items() if got.get(k) == v) / len(recorded)


# Checks whose threshold is a ceiling (a latency, token or cost limit): a higher one, or none, is looser.
_CEILINGS = ("latency", "tokens", "cost")


def loosened(baseline: dict[str, Any] | None, now: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What ``now`` (resolved settings) checks less strictly than ``baseline``: one ``{"check", "label",
    "what"}`` per loosening (switched off, no longer blocking, a lower bar, a lower case threshold)."""
    base, mine = resolve(baseline), resolve(now)
    out: list[dict[str, Any]] = []

    def add(name: str, what: str) -> None:
        label = "Case threshold" if name == "_case_threshold" else str(mine[name]["label"])
        out.append({"check": name, "label": label, "what": what})

    for spec in DEFAULT_CHECKS:
        was, is_ = base[spec.name], mine[spec.name]
        if was["enabled"] and not is_["enabled"]:
            add(spec.name, "switched off")
            continue
        if not is_["enabled"]:
            continue
        if was["blocking"] and not is_["blocking"]:
            add(spec.name, "no longer blocking")
        if float(was["weight"]) > 0 and float(is_["weight"]) <= 0:
            add(spec.name, f"weight {was['weight']:g} → 0")
        old, new = was["threshold"], is_["threshold"]
        if spec.name in _CEILINGS:
            if old is not None and (new is None or float(new) > float(old)):
                add(spec.name, f"limit {old} → {new if new is not None else 'none'}")
        elif old is not None and (new is None or float(new) < float(old) - 1e-9):
            add(spec.name, f"threshold {float(old):g} → {float(new) if new is not None else 0:g}")
    old_case, new_case = base["_case_threshold"]["value"], mine["_case_threshold"]["value"]
    if new_case < old_case - 1e-9:
        add("_case_threshold", f"{old_case:g} → {new_case:g}")
    return out
