"""Per-flow checks: the migration guide's troubleshooting list, each with its evidence and a link to the fix.

Groups: outputs differ · conversation history feels broken · tool calls stop appearing · old threads missing ·
UX changes. Data that belongs to apps not installed yet (validation, backfill) is asked of the registry's
providers; without one the check says "unknown" and what would answer it.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from typing import Any

from migrator.core.diagnostics import Finding, flow_check, get_provider
from migrator.core.models import Flow
from migrator.core.status import FlowMode
from migrator.diagnostics.checks import data
from migrator.diagnostics.checks.common import url

OUTPUTS = "Outputs differ"
HISTORY = "Conversation history feels broken"
TOOLS = "Tool calls stop appearing"
OLD_THREADS = "Old threads missing"
UX = "UX changes"

MARKDOWN_SHARE = 0.3  # legacy answers using Markdown at least this often make a model change worth a look
RESPONSE_RETENTION_DAYS = 30
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
# For validation-case rows that carry no threshold of their own (see outputs_validation).
SIMILARITY_FLOOR = 0.5


# --- shared helpers -------------------------------------------------------------------------------------------


def _prompt_url(flow: Flow, version=None) -> str:
    link = url("prompts:assistant_prompt", flow.assistant_id)
    return f"{link}?v={version.number}" if link and version is not None else link


def _no_version(flow: Flow) -> Finding:
    return Finding.unknown(f"{flow.assistant.display_name} has no converted prompt version yet, so there is no "
                           "candidate to compare.", fix_url=_prompt_url(flow), fix_label="Generate a version")


def _legacy_tool_names(tools: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    names = {}
    for tool in tools or []:
        kind = tool.get("type", "")
        if kind == "function":
            fn = tool.get("function") or {}
            names[f"function:{fn.get('name', '')}"] = fn
        else:
            names["file_search" if kind == "retrieval" else kind] = tool
    return names


def _new_tool_names(tools: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    names = {}
    for tool in tools or []:
        kind = tool.get("type", "")
        names[f"function:{tool.get('name', '')}" if kind == "function" else kind] = tool
    return names


def _legacy_format(assistant) -> str:
    fmt = assistant.response_format
    if isinstance(fmt, dict):
        return str(fmt.get("type") or "text")
    return "text"  # None or "auto"


def _new_format(config: dict[str, Any]) -> str:
    text = config.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    return str(fmt.get("type") or "text") if isinstance(fmt, dict) else "text"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _percentile(values: list[int], pct: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]  # nearest rank, as flows.recommend does


def _sent_strict(config: dict[str, Any], pointer: str) -> bool:
    """Whether the schema a JSON pointer points into is sent with ``strict: true``."""
    parts = pointer.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "tools" and parts[1].isdigit():
        tools = config.get("tools") or []
        index = int(parts[1])
        return index < len(tools) and bool(tools[index].get("strict"))
    if parts[:3] == ["text", "format", "schema"]:
        fmt = (config.get("text") or {}).get("format") or {}
        return bool(fmt.get("strict"))
    return False


# --- outputs differ -------------------------------------------------------------------------------------------


@flow_check("outputs_definition", title="Legacy definition vs candidate", group=OUTPUTS, order=10)
def outputs_definition(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    assistant, config = flow.assistant, version.config or {}
    differences: list[dict[str, Any]] = []
    legacy_instr, new_instr = (assistant.instructions or "").strip(), (config.get("instructions") or "").strip()
    if legacy_instr != new_instr:
        differences.append({"what": "instructions", "legacy_chars": len(legacy_instr), "candidate_chars": len(new_instr),
                            "legacy_sha": _short_hash(legacy_instr), "candidate_sha": _short_hash(new_instr)})
    if (assistant.model or "") != (config.get("model") or ""):
        differences.append({"what": "model", "legacy": assistant.model, "candidate": config.get("model")})
    legacy_tools, new_tools = _legacy_tool_names(assistant.tools), _new_tool_names(config.get("tools") or [])
    if set(legacy_tools) != set(new_tools):
        differences.append({"what": "tools", "only_legacy": sorted(set(legacy_tools) - set(new_tools)),
                            "only_candidate": sorted(set(new_tools) - set(legacy_tools))})
    legacy_fmt, new_fmt = _legacy_format(assistant), _new_format(config)
    if legacy_fmt != new_fmt:
        differences.append({"what": "format", "legacy": legacy_fmt, "candidate": new_fmt})
    for key in ("temperature", "top_p"):
        legacy_value = getattr(assistant, key)
        if legacy_value is not None and config.get(key) is None and not str(config.get("model", "")).startswith(
                REASONING_PREFIXES):
            differences.append({"what": key, "legacy": legacy_value, "candidate": "default"})
    fix = url("prompts:compare", flow.assistant_id) or _prompt_url(flow, version)
    evidence = {"candidate_version": version.number, "differences": differences}
    if not differences:
        return Finding.ok(f"v{version.number} keeps the legacy instructions, model, tools and format; differing "
                          "outputs come from the API change itself (compare validation cases).", evidence=evidence,
                          fix_url=fix, fix_label="Compare")
    what = ", ".join(d["what"] for d in differences)
    status = Finding.fail if any(d["what"] in ("format", "tools") for d in differences) else Finding.warn
    return status(f"v{version.number} differs from the legacy definition in: {what}. Each is a likely cause of "
                  "different answers; check they are intended.", evidence=evidence, fix_url=fix, fix_label="Compare")


@flow_check("outputs_validation", title="Lowest-similarity validation cases", group=OUTPUTS, order=20)
def outputs_validation(flow: Flow) -> Finding:
    lowest = get_provider("validation.lowest_similarity")
    if lowest is None:
        return Finding.not_available("validation", "no installed app records validation cases, so the answers with "
                                     "the lowest similarity cannot be listed.")
    cases = lowest(flow) or []
    if not cases:
        return Finding.unknown("No validation run has recorded cases for this flow yet.")
    # Judged by the run's own text-similarity threshold and case verdicts, never by a fixed number of ours: a
    # reworded answer that passed the run's other checks is something to read (warn), not a refusal of the
    # cutover; the team sets how much rewording fails a case on its test set. A provider that sends neither
    # threshold nor verdict is judged as before (below SIMILARITY_FLOOR fails).
    worst = min(cases, key=lambda c: c.get("similarity", 1))
    threshold = _similarity_threshold(worst)
    below = [c for c in cases if c.get("similarity", 1) < _similarity_threshold(c)]
    failed = [c for c in below if c.get("verdict", "fail") == "fail"]
    evidence = {"cases": cases[:10], "threshold": threshold, "below_threshold": len(below), "failed": len(failed)}
    score = f"the least similar scores {worst.get('similarity', 1):.2f}"
    if failed:
        return Finding.fail(f"{len(failed)} validation case(s) below the run's similarity threshold ({threshold:.2f}) "
                            f"fail the run; {score}.", evidence=evidence, fix_url=failed[0].get("url", ""),
                            fix_label="Open the case")
    if below:
        return Finding.warn(f"{len(below)} validation case(s) score below the run's similarity threshold "
                            f"({threshold:.2f}) but pass on their other checks; {score}. Read them: the wording "
                            "changed.", evidence=evidence, fix_url=below[0].get("url", ""), fix_label="Open the case")
    return Finding.ok(f"Every validation case reaches the run's similarity threshold ({threshold:.2f}); {score}.",
                      evidence=evidence, fix_url=worst.get("url", ""), fix_label="Open the case")


def _similarity_threshold(case: dict[str, Any]) -> float:
    value = case.get("threshold")
    return float(value) if value is not None else SIMILARITY_FLOOR


# --- conversation history feels broken --------------------------------------------------------------------------


def _mode_url(flow: Flow) -> str:
    return url("flows:detail", flow.slug, anchor="mode")


def _mode(value: str | None) -> str:
    """A state mode in words ("conversation mode (durable state)"), never its raw value or an empty string."""
    if not value:
        return "no state mode"
    label = FlowMode(value).label if value in FlowMode.values else value
    name, _, detail = label.partition(" (")
    return f"{name.lower()} mode ({detail}" if detail else f"{name.lower()} mode"


@flow_check("history_mode", title="State mode vs thread statistics", group=HISTORY, order=30)
def history_mode(flow: Flow) -> Finding:
    rec = data.thread_recommendation(flow)
    evidence = {"mode": flow.mode or None, "recommended": rec.mode or None, **rec.evidence}
    fix = _mode_url(flow)
    if not flow.mode:
        return Finding.fail("No state mode is chosen: production cannot know how to keep history.", evidence=evidence,
                            fix_url=fix, fix_label="Choose a mode")
    if not rec.mode:
        return Finding.unknown(f"Mode {_mode(flow.mode)}, but no threads are imported to check it against.",
                               evidence=evidence, fix_url=url("inventory:import"), fix_label="Import threads")
    single = rec.evidence.get("single_turn_share", 0)
    long_lived = rec.evidence.get("long_lived_share", 0)
    if flow.mode == FlowMode.STATELESS and single < 0.8:
        return Finding.fail(f"The flow is stateless but {_pct(round((1 - single) * 1000), 1000)} of its threads have "
                            "several turns: unless the app resends the whole conversation, answers lose context.",
                            evidence=evidence, fix_url=fix, fix_label="Change the mode")
    if flow.mode == FlowMode.PREVIOUS_RESPONSE and long_lived >= 0.05:
        return Finding.fail(f"{_pct(round(long_lived * 1000), 1000)} of multi-turn threads stay active beyond "
                            f"{RESPONSE_RETENTION_DAYS} days, when stored responses expire and previous_response_id "
                            "chains break.", evidence=evidence, fix_url=fix, fix_label="Use a conversation")
    if flow.mode != rec.mode:
        return Finding.warn(f"The flow uses {_mode(flow.mode)} where the threads suggest {_mode(rec.mode)}: {rec.reason}",
                            evidence=evidence, fix_url=fix, fix_label="Review the mode")
    return Finding.ok(f"{_mode(flow.mode).capitalize()} matches what the {rec.evidence.get('thread_count', 0)} threads suggest.",
                      evidence=evidence)


@flow_check("history_store", title="store with previous_response chaining", group=HISTORY, order=40)
def history_store(flow: Flow) -> Finding:
    evidence = {"mode": flow.mode or None, "store": flow.store, "truncation": flow.truncation}
    if flow.mode == FlowMode.PREVIOUS_RESPONSE and not flow.store:
        return Finding.fail("previous_response_id chaining needs stored responses, but the flow sends store=false: "
                            "every follow-up fails with 'previous response not found'.", evidence=evidence,
                            fix_url=_mode_url(flow), fix_label="Turn store on")
    if flow.mode == FlowMode.PREVIOUS_RESPONSE:
        return Finding.ok(f"store=true, so responses are kept {RESPONSE_RETENTION_DAYS} days for chaining.",
                          evidence=evidence)
    if not flow.mode:
        return Finding.unknown("No state mode chosen yet.", evidence=evidence, fix_url=_mode_url(flow))
    return Finding.ok(f"{_mode(flow.mode).capitalize()} does not chain stored responses.", evidence=evidence)


def _coverage(flow: Flow) -> tuple[Finding | None, dict[str, Any] | None]:
    provide = get_provider("backfill.coverage")
    if provide is None:
        return Finding.not_available("backfill", "no installed app reports which legacy threads were copied into "
                                     "conversations."), None
    coverage = provide(flow)
    if not coverage:
        return Finding.unknown("No backfill has run for this flow yet.", fix_url=url("flows:detail", flow.slug)), None
    return None, coverage


def _judge_coverage(flow: Flow, coverage: dict[str, Any], *, when_missing: str) -> Finding:
    selected, done = int(coverage.get("selected") or 0), int(coverage.get("backfilled") or 0)
    failed = int(coverage.get("failed") or 0)
    fix = coverage.get("url", "")
    if coverage.get("threads") == 0:
        return Finding.ok("No imported thread belongs to this flow, so there is nothing to backfill.",
                          evidence=coverage)
    if selected == 0:
        return Finding.warn("No legacy threads are selected for backfill.", evidence=coverage, fix_url=fix,
                            fix_label="Backfill")
    if failed:
        return Finding.fail(f"{failed} of {selected} selected threads failed to backfill; {when_missing}",
                            evidence=coverage, fix_url=fix, fix_label="See failed threads")
    if done < selected:
        return Finding.warn(f"{done} of {selected} selected threads are backfilled ({_pct(done, selected)}); "
                            f"{when_missing}", evidence=coverage, fix_url=fix, fix_label="Backfill")
    return Finding.ok(f"All {selected} selected threads are backfilled.", evidence=coverage, fix_url=fix)


@flow_check("history_backfill", title="Conversation flow without backfill", group=HISTORY, order=50)
def history_backfill(flow: Flow) -> Finding:
    if flow.mode != FlowMode.CONVERSATION:
        return Finding.ok(f"Only conversation flows carry old threads over; this flow uses {_mode(flow.mode)}.")
    unknown, coverage = _coverage(flow)
    if unknown is not None:
        return unknown
    return _judge_coverage(flow, coverage, when_missing="people returning to those chats find their history gone.")


@flow_check("history_validation_mode", title="Validation state point", group=HISTORY, order=60)
def history_validation_mode(flow: Flow) -> Finding:
    latest = get_provider("validation.latest_run")
    if latest is None:
        return Finding.not_available("validation", "cannot tell which state mode the candidate was validated in.")
    run = latest(flow)
    if not run:
        return Finding.unknown("No validation run for this flow yet.")
    evidence = {"run": run.get("id"), "run_mode": run.get("mode"), "flow_mode": flow.mode,
                "run_release": run.get("release", ""), "release": data.releases(flow)["release"]}
    if not flow.mode:
        return Finding.unknown(f"No state mode is chosen yet; the latest validation ran in {_mode(run.get('mode'))}.",
                               evidence=evidence, fix_url=_mode_url(flow), fix_label="Choose a mode")
    if run.get("mode") != flow.mode:
        return Finding.fail(f"The latest validation ran in {_mode(run.get('mode'))} but the flow uses "
                            f"{_mode(flow.mode)}: history behaves differently from what was validated.",
                            evidence=evidence, fix_url=run.get("url", ""), fix_label="Validate again")
    if run.get("release") and evidence["release"] and run["release"] != evidence["release"]:
        return Finding.warn(f"The latest validation replayed release {run['release'][:12]}, not release "
                            f"{evidence['release'][:12]} the flow would put forward now (its truncation or "
                            "streaming differs).", evidence=evidence, fix_url=run.get("url", ""),
                            fix_label="Validate again")
    if run.get("verdict") != "pass":
        # Right mode, but the run did not pass: never an "ok" beside a failed run.
        verdict = {"fail": "failed", "incomplete": "was incomplete"}.get(run.get("verdict") or "", "did not finish")
        return Finding.warn(f"Validated in {_mode(flow.mode)}, the mode the flow uses, but that run {verdict}.",
                            evidence=evidence, fix_url=run.get("url", ""), fix_label="Open the run")
    return Finding.ok(f"Validated in {_mode(flow.mode)}, the mode the flow uses, and the run passed.",
                      evidence=evidence, fix_url=run.get("url", ""))


# --- tool calls stop appearing --------------------------------------------------------------------------------


def _tools_url(flow: Flow) -> str:
    return url("tools:assistant_tools", flow.assistant_id)


@flow_check("tools_present", title="Tools the legacy threads called", group=TOOLS, order=70)
def tools_present(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    used = {k: v for k, v in (flow.assistant.tool_call_counts or {}).items() if v}
    used = {("file_search" if k == "retrieval" else k): v for k, v in used.items()}
    present = set(_new_tool_names((version.config or {}).get("tools") or []))
    missing = {k: v for k, v in used.items() if k not in present}
    evidence = {"called_in_legacy_threads": used, "candidate_tools": sorted(present)}
    if missing:
        listed = ", ".join(f"{k} ({v} calls)" for k, v in sorted(missing.items(), key=lambda kv: -kv[1]))
        return Finding.fail(f"Legacy threads called tools v{version.number} does not have: {listed}.",
                            evidence=evidence, fix_url=_prompt_url(flow, version), fix_label="Edit the tools")
    if not used:
        return Finding.ok("The recorded threads called no tools.", evidence=evidence)
    return Finding.ok(f"Every tool the legacy threads called ({len(used)}) is in v{version.number}.", evidence=evidence)


@flow_check("tools_choice", title="tool_choice", group=TOOLS, order=80)
def tools_choice(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    config = version.config or {}
    choice = config.get("tool_choice", "auto")
    tools = config.get("tools") or []
    evidence = {"candidate_tool_choice": choice, "parallel_tool_calls": config.get("parallel_tool_calls"),
                "legacy_runs_tool_choice": data.legacy_tool_choices(flow)}
    fix = _prompt_url(flow, version)
    if tools and choice == "none":
        return Finding.fail(f"v{version.number} sets tool_choice 'none': the model never calls its {len(tools)} "
                            "tool(s).", evidence=evidence, fix_url=fix, fix_label="Edit tool_choice")
    if isinstance(choice, dict) or choice == "required":
        return Finding.warn(f"v{version.number} forces tool calls ({choice}); every answer starts with a call, which "
                            "the legacy runs may not have done.", evidence=evidence, fix_url=fix)
    if not tools:
        return Finding.ok("The candidate has no tools.", evidence=evidence)
    return Finding.ok("tool_choice is auto: the model calls tools when it needs them.", evidence=evidence)


@flow_check("tools_strict", title="Function strictness", group=TOOLS, order=90)
def tools_strict(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    legacy = _legacy_tool_names(flow.assistant.tools)
    changed, rows = [], []
    for key, tool in _new_tool_names((version.config or {}).get("tools") or []).items():
        if not key.startswith("function:"):
            continue
        before = bool((legacy.get(key) or {}).get("strict"))
        after = bool(tool.get("strict"))
        rows.append({"tool": key, "legacy_strict": before, "candidate_strict": after})
        if before != after:
            changed.append(f"{key.split(':', 1)[1]} ({'now strict' if after else 'no longer strict'})")
    config = version.config or {}
    # A strict-mode finding only blocks requests where that schema is actually sent with strict: true.
    errors = [f for f in version.findings or [] if f.get("kind") == "strict" and f.get("severity") == "error"
              and _sent_strict(config, f.get("pointer") or "")]
    evidence = {"functions": rows, "strict_findings": [f.get("message") for f in errors][:10]}
    fix = _prompt_url(flow, version)
    if errors:
        return Finding.fail(f"{len(errors)} schema(s) strict mode would reject: the API refuses the request, so no "
                            "tool is ever called.", evidence=evidence, fix_url=fix, fix_label="Review schemas")
    if changed:
        return Finding.warn(f"Strictness changed for {', '.join(changed)}: strict schemas reject arguments the legacy "
                            "model sent loosely, non-strict ones may produce arguments the code rejects.",
                            evidence=evidence, fix_url=fix, fix_label="Review schemas")
    return Finding.ok("Function strictness is as in the legacy definition." if rows else "No function tools.",
                      evidence=evidence)


@flow_check("tools_tests", title="Latest tool tests", group=TOOLS, order=100)
def tools_tests(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    gate = data.tool_gate(flow, version)
    evidence = [{"tool": r.row.key, "state": r.state,
                 "summary": r.result.summary if r.result is not None else "",
                 "tested_at": r.result.created_at.isoformat() if r.result is not None else None} for r in gate.rows]
    fix = _tools_url(flow)
    if not gate.rows:
        return Finding.ok(gate.summary, evidence=evidence)
    if gate.failed:
        return Finding.fail(gate.summary, evidence=evidence, fix_url=fix, fix_label="Open tools")
    if gate.untested:
        return Finding.warn(gate.summary, evidence=evidence, fix_url=fix, fix_label="Test tools")
    return Finding.ok(gate.summary, evidence=evidence, fix_url=fix)


# --- old threads missing -------------------------------------------------------------------------------------------


@flow_check("old_threads", title="Backfill coverage", group=OLD_THREADS, order=110)
def old_threads(flow: Flow) -> Finding:
    if flow.mode == FlowMode.STATELESS:
        return Finding.ok("Stateless flows keep no history, so there are no old threads to carry over.")
    if flow.mode == FlowMode.PREVIOUS_RESPONSE:
        return Finding.warn("previous_response_id chains cannot be backfilled: old threads restart without their "
                            "history. Choose conversation mode if people come back to old chats.",
                            fix_url=_mode_url(flow), fix_label="Review the mode")
    unknown, coverage = _coverage(flow)
    if unknown is not None:
        return unknown
    return _judge_coverage(flow, coverage, when_missing="those threads are missing in the new conversations.")


# --- UX changes -------------------------------------------------------------------------------------------------


@flow_check("ux_format", title="Output format (text vs JSON)", group=UX, order=120)
def ux_format(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    answers = data.recorded_answers(flow)
    legacy_fmt, new_fmt = _legacy_format(flow.assistant), _new_format(version.config or {})
    evidence = {"legacy_format": legacy_fmt, "candidate_format": new_fmt, "recorded_answers": answers.count,
                "recorded_json_answers": answers.json_like}
    fix = _prompt_url(flow, version)
    if legacy_fmt != new_fmt:
        return Finding.fail(f"The legacy assistant answered in {legacy_fmt}, v{version.number} in {new_fmt}: code "
                            "that parses (or displays) the answer breaks.", evidence=evidence, fix_url=fix,
                            fix_label="Edit the format")
    if new_fmt == "text" and answers.count and answers.json_like / answers.count >= 0.5:
        return Finding.warn(f"{_pct(answers.json_like, answers.count)} of recorded answers are JSON written as text; "
                            "a json_schema format would make that reliable.", evidence=evidence, fix_url=fix)
    return Finding.ok(f"Both answer in {new_fmt}.", evidence=evidence)


@flow_check("ux_markdown_citations", title="Markdown and citation markers", group=UX, order=130)
def ux_markdown_citations(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    answers = data.recorded_answers(flow)
    if not answers.count:
        return Finding.unknown("No recorded assistant answers to compare against; import threads.",
                               fix_url=url("inventory:import"), fix_label="Import threads")
    config = version.config or {}
    tools = set(_new_tool_names(config.get("tools") or []))
    evidence = {"recorded_answers": answers.count, "markdown": answers.markdown,
                "citation_markers": answers.citation_markers, "annotated": answers.annotated,
                "examples": answers.examples, "candidate_model": config.get("model"),
                "legacy_model": flow.assistant.model}
    fix = _prompt_url(flow, version)
    cited = answers.citation_markers + answers.annotated
    if cited and "file_search" not in tools:
        return Finding.fail(f"{_pct(cited, answers.count)} of recorded answers cite files, but v{version.number} has no "
                            "file_search tool: citations disappear.", evidence=evidence, fix_url=fix)
    if answers.citation_markers:
        return Finding.warn(f"{_pct(answers.citation_markers, answers.count)} of recorded answers carry inline citation "
                            f"markers such as {answers.examples.get('citation', '【…】')}. Responses puts citations in "
                            "output_text annotations (file_citation with file_id, filename, index) instead; a UI that "
                            "rendered or stripped the markers must read the annotations.", evidence=evidence, fix_url=fix)
    share = answers.markdown / answers.count
    instructions = (config.get("instructions") or "").lower()
    if share >= MARKDOWN_SHARE and config.get("model") != flow.assistant.model and "markdown" not in instructions:
        return Finding.warn(f"{_pct(answers.markdown, answers.count)} of recorded answers use Markdown and the model "
                            f"changes ({flow.assistant.model} → {config.get('model')}); models format differently, so "
                            "say in the instructions whether to use Markdown.", evidence=evidence, fix_url=fix)
    return Finding.ok(f"Markdown in {_pct(answers.markdown, answers.count)} of recorded answers, no inline citation "
                      "markers to migrate.", evidence=evidence)


@flow_check("ux_length", title="Answer length", group=UX, order=140)
def ux_length(flow: Flow) -> Finding:
    version = data.candidate_version(flow)
    if version is None:
        return _no_version(flow)
    answers = data.recorded_answers(flow)
    config = version.config or {}
    median, p90 = _percentile(answers.lengths, 50), _percentile(answers.lengths, 90)
    evidence: dict[str, Any] = {"recorded_answers": answers.count, "recorded_chars_median": median,
                                "recorded_chars_p90": p90, "max_output_tokens": config.get("max_output_tokens")}
    fix = _prompt_url(flow, version)
    limit = config.get("max_output_tokens")
    if isinstance(limit, int) and answers.count:
        needed = p90 // 4  # ~4 characters per token
        reasoning = str(config.get("model", "")).startswith(REASONING_PREFIXES)
        if limit < needed or (reasoning and limit < needed * 2):
            why = " (reasoning tokens count against it too)" if reasoning else ""
            return Finding.fail(f"max_output_tokens is {limit}{why}, but 10% of recorded answers need about {needed} "
                                "tokens or more: long answers get cut off.", evidence=evidence, fix_url=fix,
                                fix_label="Raise the limit")
    lengths = get_provider("validation.answer_lengths")
    if lengths is None:
        return Finding.not_available("validation", f"recorded answers are {median} characters (median), but there "
                                     "are no candidate answers to compare.", evidence=evidence)
    if not answers.count:
        return Finding.unknown("No recorded answers to compare candidate answers with; import threads.",
                               evidence=evidence, fix_url=url("inventory:import"), fix_label="Import threads")
    candidate = lengths(flow) or []
    if not candidate:
        return Finding.unknown("No validation answers recorded for the candidate yet.", evidence=evidence)
    new_median = _percentile(list(candidate), 50)
    evidence["candidate_chars_median"] = new_median
    ratio = new_median / median if median else 1
    if ratio > 1.5 or ratio < 0.67:
        return Finding.warn(f"Candidate answers are {new_median} characters (median) against {median} recorded: "
                            f"{'longer' if ratio > 1 else 'shorter'} by {abs(round((ratio - 1) * 100))}%.",
                            evidence=evidence, fix_url=fix, fix_label="Adjust the instructions")
    return Finding.ok(f"Candidate answers ({new_median} chars median) are close to the recorded ones ({median}).",
                      evidence=evidence)


@flow_check("ux_latency", title="Latency", group=UX, order=150)
def ux_latency(flow: Flow) -> Finding:
    recorded = data.recorded_latencies(flow)
    median = statistics.median(recorded) if recorded else None
    p90 = _percentile([round(x) for x in recorded], 90) if recorded else None
    evidence: dict[str, Any] = {"recorded_runs": len(recorded), "recorded_seconds_median": median,
                                "recorded_seconds_p90": p90}
    latencies = get_provider("validation.latencies")
    if not recorded:
        return Finding.unknown("No completed legacy runs with timings to compare against.", evidence=evidence)
    if latencies is None:
        return Finding.not_available("validation", f"legacy runs took {median:.1f}s (median), but there are no "
                                     "candidate timings to compare.", evidence=evidence)
    candidate = [float(x) for x in latencies(flow) or []]
    if not candidate:
        return Finding.unknown("No validation timings recorded for the candidate yet.", evidence=evidence)
    new_median = statistics.median(candidate)
    evidence["candidate_seconds_median"] = new_median
    if median and new_median > 2 * median and new_median - median > 2:
        return Finding.warn(f"Candidate answers take {new_median:.1f}s (median) against {median:.1f}s recorded: "
                            "users will notice; consider a lower reasoning effort or streaming.", evidence=evidence)
    return Finding.ok(f"Candidate answers take {new_median:.1f}s (median), legacy runs {median:.1f}s.",
                      evidence=evidence)
