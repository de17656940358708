"""Tool definitions: Assistants (nested, resources elsewhere) → Responses (flat, resources on the tool).

Migration map §3: function tools are flattened with an explicit ``strict``; ``file_search`` takes its
``vector_store_ids`` from the tool resources; ``code_interpreter`` gets an ``auto`` container with the file
ids; the v1 ``retrieval`` tool becomes ``file_search``; the ``default_2024_08_21`` ranker (which Responses
rejects) becomes ``auto``.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any, get_args, get_type_hints

from migrator.tools.conversion.strict import fix_schema, lint_schema
from migrator.tools.conversion.types import (
    CHANGED,
    CONFIG,
    DROPPED,
    ERROR,
    INFO,
    NEEDS_DECISION,
    TRANSFERRED,
    WARNING,
    ConversionError,
    ConvertedTool,
    Finding,
    LedgerEntry,
    SchemaReview,
)

FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
RESPONSES_RANKERS = ("auto", "default-2024-11-15")
MAX_CONTAINER_FILES = 20  # the Assistants limit; Responses states none, so more is a warning only

_FUNCTION_KEYS = {"name", "description", "parameters", "strict"}
_RESPONSES_FUNCTION_EXTRAS = {"defer_loading", "output_schema", "allowed_callers", "async"}
_FILE_SEARCH_OPTIONS = {"max_num_results", "ranking_options"}
_PLACEHOLDER = re.compile(r"RUNTIME|\.\.\.|<[^>]*>|^\$\{|\{\{|^(?:vs|file|asst)_?$|YOUR_|_HERE\b", re.IGNORECASE)


@cache
def responses_tool_types() -> frozenset[str]:
    """Tool ``type`` values the installed SDK's Responses ``ToolParam`` union accepts."""
    from openai.types.responses.tool_param import ToolParam

    found: set[str] = set()
    for member in get_args(ToolParam):
        try:
            found.update(get_args(get_type_hints(member).get("type")))
        except Exception:  # a member the SDK cannot resolve: skip it rather than guess
            continue
    return frozenset(found)


def is_placeholder(value: Any) -> bool:
    """Ids and model names that were never real values (runtime placeholders, '...', env references)."""
    return isinstance(value, str) and bool(_PLACEHOLDER.search(value))


def _dedupe(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v is not None))


def _resource(tool_resources: Any, kind: str) -> dict[str, Any]:
    if not isinstance(tool_resources, dict):
        return {}
    value = tool_resources.get(kind)
    return value if isinstance(value, dict) else {}


def _string_list(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def review_schema(
    schema: Any, *, pointer: str, label: str, source_strict: bool | None
) -> tuple[SchemaReview, list[Finding]]:
    """Lint one schema, build its fix, and pick the default strict choice for a generated version.

    The default keeps behaviour: a schema that already satisfies strict mode is sent with ``strict: true``
    (Responses' own default) unless the author had explicitly turned strict off; one that does not is sent
    as it was with ``strict: false``, and the reviewer decides whether to take the fix.
    """
    findings = lint_schema(schema, where=pointer)
    problems = [f for f in findings if f.severity != INFO]
    fixed = fix_schema(schema) if isinstance(schema, dict) else schema
    fixable = isinstance(fixed, dict) and not [f for f in lint_schema(fixed, where=pointer) if f.severity != INFO]
    unfixable_codes = {(f.code, f.pointer) for f in lint_schema(fixed, where=pointer) if f.severity != INFO} \
        if isinstance(fixed, dict) else set()
    for finding in findings:
        if (finding.code, finding.pointer) in unfixable_codes:
            finding.fixable = False
            finding.fix = ""
    compatible = not problems
    if compatible and source_strict is False:
        choice, strict = "original", False
        reason = "The schema is strict-compatible, but the source turned strict off explicitly; kept off."
    elif compatible:
        choice, strict = "fixed", True
        reason = "The schema already satisfies strict mode, so it is sent with strict: true (the Responses default)."
    else:
        choice, strict = "original", False
        reason = (f"{len(problems)} strict-mode problem(s); sent as it was with strict: false, as the assistant "
                  "ran it. " + ("Review the proposed fix and choose." if fixable else
                                "The fix cannot resolve every problem; edit the schema to use strict mode."))
    review = SchemaReview(
        pointer=pointer, label=label, original=copy.deepcopy(schema) if isinstance(schema, dict) else {},
        fixed=fixed if isinstance(fixed, dict) else {}, compatible=compatible, fixable=fixable, choice=choice,
        strict=strict, source_strict=source_strict, reason=reason,
    )
    return review, findings


def _convert_function(tool: dict[str, Any], where: str, pointer: str) -> ConvertedTool:
    out = ConvertedTool(old=tool, new=None)
    nested = isinstance(tool.get("function"), dict)
    fn = tool["function"] if nested else tool
    prefix = f"{where}.function" if nested else where
    name = fn.get("name")
    if not isinstance(name, str) or not FUNCTION_NAME.match(name):
        shown = "missing" if name is None else repr(name)
        out.errors.append(ConversionError(
            f"{prefix}.name",
            f"the function name is {shown}; it must be 1-64 letters, digits, '_' or '-'. Rename it here and in "
            "the code that dispatches the call.",
        ))
        return out
    description = fn.get("description")
    if description is not None and not isinstance(description, str):
        out.errors.append(ConversionError(f"{prefix}.description", "must be a string."))
        return out
    parameters = fn.get("parameters")
    if parameters is None:
        parameters = copy.deepcopy(EMPTY_PARAMETERS)
        out.ledger.append(LedgerEntry(
            f"{prefix}.parameters", CHANGED, "No parameters (the function takes no arguments). Responses needs the "
            "key, so an empty object schema is sent.", before=None, after=parameters, target=f"{pointer}/parameters",
        ))
    elif not isinstance(parameters, dict):
        out.errors.append(ConversionError(f"{prefix}.parameters", "must be a JSON Schema object."))
        return out
    source_strict = fn.get("strict")
    if source_strict is not None and not isinstance(source_strict, bool):
        out.errors.append(ConversionError(f"{prefix}.strict", "must be true, false or absent."))
        return out
    review, findings = review_schema(
        parameters, pointer=f"{pointer}/parameters", label=f"function {name}", source_strict=source_strict
    )
    out.schema = review
    out.findings.extend(findings)
    new: dict[str, Any] = {"type": "function", "name": name}
    if description:
        new["description"] = description
    new["parameters"] = review.fixed if review.choice == "fixed" else review.original
    new["strict"] = review.strict
    for extra in sorted(set(fn) - _FUNCTION_KEYS - {"type"}):
        if not nested and extra in _RESPONSES_FUNCTION_EXTRAS:
            new[extra] = fn[extra]
            continue
        hint = " It looks like it belongs in parameters.required." if extra == "required" else ""
        out.ledger.append(LedgerEntry(
            f"{prefix}.{extra}", DROPPED, f"'{extra}' is not a function tool field; the API ignored or rejected it."
            + hint, before=fn[extra],
        ))
    for extra in sorted(set(tool) - {"type", "function"}) if nested else []:
        out.ledger.append(LedgerEntry(f"{where}.{extra}", DROPPED, f"'{extra}' is not a tool field.", before=tool[extra]))
    if nested:
        reason = "Flattened: name, description, parameters and strict move from 'function' to the tool itself."
        outcome = CHANGED
    elif "type" not in tool:
        reason = "This tool had no 'type' but the flat Responses function shape; read as a function tool."
        outcome = CHANGED
    else:
        reason = "Already in the flat Responses function shape."
        outcome = TRANSFERRED
    out.ledger.insert(0, LedgerEntry(where, outcome, reason, before=tool, after=new, target=pointer))
    strict_entry = LedgerEntry(f"{prefix}.strict", TRANSFERRED, review.reason, before=source_strict, after=review.strict,
                               target=f"{pointer}/strict")
    if not review.compatible:
        strict_entry.outcome = NEEDS_DECISION
    elif source_strict is None:
        strict_entry.outcome = CHANGED
    out.ledger.append(strict_entry)
    out.new = new
    return out


def _file_search_options(tool: dict[str, Any], where: str, pointer: str, out: ConvertedTool) -> dict[str, Any]:
    """max_num_results and ranking_options, from the nested Assistants block or a flat Responses tool."""
    options = tool.get("file_search") if isinstance(tool.get("file_search"), dict) else {}
    prefix = f"{where}.file_search" if options else where
    if not options:
        options = {k: tool[k] for k in (*_FILE_SEARCH_OPTIONS, "filters") if k in tool}
    result: dict[str, Any] = {}
    max_results = options.get("max_num_results")
    if max_results is not None:
        if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= 50:
            out.errors.append(ConversionError(f"{prefix}.max_num_results", f"must be a whole number from 1 to 50, "
                                              f"not {max_results!r}."))
        else:
            result["max_num_results"] = max_results
    ranking = options.get("ranking_options")
    if isinstance(ranking, dict):
        new_ranking: dict[str, Any] = {}
        ranker = ranking.get("ranker")
        if ranker in RESPONSES_RANKERS:
            new_ranking["ranker"] = ranker
        elif ranker == "default_2024_08_21":
            new_ranking["ranker"] = "auto"
            out.ledger.append(LedgerEntry(
                f"{prefix}.ranking_options.ranker", CHANGED, "Responses does not accept the Assistants ranker "
                "'default_2024_08_21' (its rankers are 'auto' and 'default-2024-11-15'); mapped to 'auto'.",
                before=ranker, after="auto", target=f"{pointer}/ranking_options/ranker",
            ))
        elif ranker is not None:
            out.ledger.append(LedgerEntry(
                f"{prefix}.ranking_options.ranker", DROPPED, f"Unknown ranker {ranker!r}; Responses picks its own "
                "('auto').", before=ranker,
            ))
        threshold = ranking.get("score_threshold")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
                out.errors.append(ConversionError(f"{prefix}.ranking_options.score_threshold",
                                                  f"must be a number from 0 to 1, not {threshold!r}."))
            else:
                new_ranking["score_threshold"] = threshold
        if isinstance(ranking.get("hybrid_search"), dict):
            new_ranking["hybrid_search"] = ranking["hybrid_search"]
        if new_ranking:
            result["ranking_options"] = new_ranking
    elif ranking is not None:
        out.errors.append(ConversionError(f"{prefix}.ranking_options", "must be an object."))
    if "filters" in options and options["filters"] is not None:
        result["filters"] = options["filters"]
    return result


def _convert_file_search(
    tool: dict[str, Any], where: str, pointer: str, tool_resources: Any, *, legacy_retrieval: bool = False,
    file_ids: list[str] | None = None,
) -> ConvertedTool:
    out = ConvertedTool(old=tool, new=None)
    resource = _resource(tool_resources, "file_search")
    from_resources = _string_list(resource.get("vector_store_ids"))
    if from_resources is None:
        out.errors.append(ConversionError("tool_resources.file_search.vector_store_ids", "must be a list of "
                                          "vector store ids (strings)."))
        return out
    on_tool = _string_list(tool.get("vector_store_ids"))
    if on_tool is None:
        out.errors.append(ConversionError(f"{where}.vector_store_ids", "must be a list of vector store ids."))
        return out
    store_ids = _dedupe([*from_resources, *on_tool])
    new: dict[str, Any] = {"type": "file_search", "vector_store_ids": store_ids}
    new.update(_file_search_options(tool, where, pointer, out))
    if legacy_retrieval:
        out.ledger.append(LedgerEntry(
            where, CHANGED, "The v1 'retrieval' tool became 'file_search', which searches vector stores.",
            before=tool, after=new, target=pointer,
        ))
    else:
        out.ledger.append(LedgerEntry(
            where, CHANGED if from_resources else TRANSFERRED,
            "vector_store_ids now sit on the tool (they came from tool_resources.file_search)." if from_resources
            else "Transferred.", before=tool, after=new, target=pointer,
        ))
    if from_resources:
        out.ledger.append(LedgerEntry(
            "tool_resources.file_search.vector_store_ids", CHANGED, "Moved onto the file_search tool.",
            before=from_resources, after=store_ids, target=f"{pointer}/vector_store_ids",
        ))
    if on_tool and "type" in tool and not legacy_retrieval:
        out.findings.append(Finding(
            kind=CONFIG, code="responses_shape", severity=INFO, pointer=f"{pointer}/vector_store_ids",
            message="The source already put vector_store_ids on the tool (the Responses shape); the Assistants API "
                    "ignored them there, so check they are the stores you mean.",
        ))
    inline = resource.get("vector_stores")
    if inline:
        out.ledger.append(LedgerEntry(
            "tool_resources.file_search.vector_stores", NEEDS_DECISION, "The assistant created its vector store "
            "inline. Responses has no inline helper: create the store with client.vector_stores.create(file_ids=…) "
            "and add its id to vector_store_ids.", before=inline,
        ))
    if file_ids:
        out.ledger.append(LedgerEntry(
            "file_ids", NEEDS_DECISION, "v1 retrieval read these files directly. file_search reads vector stores: "
            "create one from these files (client.vector_stores.create(file_ids=…)) and add its id to "
            "vector_store_ids.", before=file_ids,
        ))
    for key in sorted(set(resource) - {"vector_store_ids", "vector_stores"}):
        out.ledger.append(LedgerEntry(
            f"tool_resources.file_search.{key}", DROPPED, f"'{key}' is not a file_search resource field.",
            before=resource[key],
        ))
    if not store_ids:
        out.findings.append(Finding(
            kind=CONFIG, code="no_vector_store", severity=WARNING, pointer=f"{pointer}/vector_store_ids",
            message="file_search has no vector store ids, so it has nothing to search. If the application attaches "
                    "a store per conversation, it must add the id at call time; otherwise add the store id here.",
        ))
    for i, store in enumerate(store_ids):
        if is_placeholder(store):
            out.findings.append(Finding(
                kind=CONFIG, code="placeholder", severity=ERROR, pointer=f"{pointer}/vector_store_ids/{i}",
                text=store, message=f"{store!r} is a placeholder, not a real vector store id. Replace it with the "
                                    "store's id before this configuration is used.",
            ))
    out.new = new
    return out


def _convert_code_interpreter(
    tool: dict[str, Any], where: str, pointer: str, tool_resources: Any, *, file_ids: list[str] | None = None,
) -> ConvertedTool:
    out = ConvertedTool(old=tool, new=None)
    if tool.get("container") is not None:  # already the Responses shape
        container = tool["container"]
        if not isinstance(container, str | dict):
            out.errors.append(ConversionError(f"{where}.container", "must be a container id or an object."))
            return out
        out.new = {"type": "code_interpreter", "container": container}
        out.ledger.append(LedgerEntry(where, TRANSFERRED, "Already in the Responses shape.", before=tool,
                                      after=out.new, target=pointer))
        return out
    resource = _resource(tool_resources, "code_interpreter")
    from_resources = _string_list(resource.get("file_ids"))
    if from_resources is None:
        out.errors.append(ConversionError("tool_resources.code_interpreter.file_ids", "must be a list of file ids."))
        return out
    ids = _dedupe([*from_resources, *(file_ids or [])])
    out.new = {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ids}}
    out.ledger.append(LedgerEntry(
        where, CHANGED, "Responses runs code in a container: an 'auto' container is created per call with the "
        "assistant's files.", before=tool, after=out.new, target=pointer,
    ))
    if from_resources:
        out.ledger.append(LedgerEntry(
            "tool_resources.code_interpreter.file_ids", CHANGED, "Moved into the tool's container.file_ids.",
            before=from_resources, after=ids, target=f"{pointer}/container/file_ids",
        ))
    if file_ids:
        out.ledger.append(LedgerEntry(
            "file_ids", CHANGED, "v1 top-level file_ids moved into the code_interpreter container.",
            before=file_ids, after=ids, target=f"{pointer}/container/file_ids",
        ))
    if len(ids) > MAX_CONTAINER_FILES:
        out.findings.append(Finding(
            kind=CONFIG, code="many_files", severity=WARNING, pointer=f"{pointer}/container/file_ids",
            message=f"{len(ids)} files; Assistants allowed {MAX_CONTAINER_FILES}. Check the container accepts them all.",
        ))
    for i, file_id in enumerate(ids):
        if is_placeholder(file_id):
            out.findings.append(Finding(
                kind=CONFIG, code="placeholder", severity=ERROR, pointer=f"{pointer}/container/file_ids/{i}",
                text=file_id, message=f"{file_id!r} is a placeholder, not a real file id. Replace it with the "
                                      "uploaded file's id.",
            ))
    for key in sorted(set(resource) - {"file_ids"}):
        out.ledger.append(LedgerEntry(f"tool_resources.code_interpreter.{key}", DROPPED,
                                      f"'{key}' is not a code_interpreter resource field.", before=resource[key]))
    return out


def convert_tool(
    tool: dict[str, Any], *, tool_resources: dict[str, Any] | None, index: int = 0, pointer: str | None = None,
    file_ids: list[str] | None = None,
) -> ConvertedTool:
    """Convert one Assistants tool. ``file_ids`` are v1 top-level files (for code_interpreter / retrieval).

    Returns the old shape, the new shape (None when the tool has no Responses equivalent), ledger entries,
    findings and errors. ``pointer`` is where the tool will sit in the config (default ``/tools/<index>``).
    """
    where = f"tools[{index}]"
    pointer = pointer if pointer is not None else f"/tools/{index}"
    if not isinstance(tool, dict):
        out = ConvertedTool(old=tool, new=None)  # type: ignore[arg-type]
        out.errors.append(ConversionError(where, "each tool must be an object with a 'type'."))
        return out
    kind = tool.get("type")
    if kind == "function" or (kind is None and "name" in tool and ("parameters" in tool or "description" in tool)):
        return _convert_function(tool, where, pointer)
    if kind == "file_search":
        return _convert_file_search(tool, where, pointer, tool_resources)
    if kind == "retrieval":
        return _convert_file_search(tool, where, pointer, tool_resources, legacy_retrieval=True, file_ids=file_ids)
    if kind == "code_interpreter":
        return _convert_code_interpreter(tool, where, pointer, tool_resources, file_ids=file_ids)
    out = ConvertedTool(old=tool, new=None)
    if isinstance(kind, str) and kind in responses_tool_types():
        out.new = copy.deepcopy(tool)
        out.ledger.append(LedgerEntry(
            where, NEEDS_DECISION, f"'{kind}' is a Responses tool, not an Assistants one: the Assistants API never "
            "ran it for this assistant. Keep it only if you want the new capability.", before=tool, after=out.new,
            target=pointer,
        ))
        return out
    out.ledger.append(LedgerEntry(
        where, DROPPED, f"Tool type {kind!r} has no Responses equivalent (it is not an OpenAI Assistants tool; "
        "probably specific to another server). Re-create what it did as a function tool if it is still needed.",
        before=tool,
    ))
    out.findings.append(Finding(kind=CONFIG, code="tool_dropped", severity=WARNING, pointer="/tools", text=str(kind),
                                message=f"A '{kind}' tool was dropped; instructions that rely on it need rewording."))
    return out


def convert_tool_choice(value: Any, *, tools: list[dict[str, Any]]) -> tuple[Any, list[LedgerEntry],
                                                                            list[ConversionError]]:
    """Assistants ``tool_choice`` → Responses ``tool_choice`` (§3.6). Returns (new value, ledger, errors)."""
    if value in ("none", "auto", "required"):
        return value, [LedgerEntry("tool_choice", TRANSFERRED, "Same value in Responses.", before=value, after=value,
                                   target="/tool_choice")], []
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return None, [], [ConversionError("tool_choice", "must be 'none', 'auto', 'required' or an object with a "
                                          f"'type'; got {value!r}.")]
    kind = value["type"]
    names = {t.get("name") for t in tools if t.get("type") == "function"}
    types = {t.get("type") for t in tools}
    if kind == "function":
        name = value.get("function", {}).get("name") if isinstance(value.get("function"), dict) else value.get("name")
        if not isinstance(name, str):
            return None, [], [ConversionError("tool_choice.function.name", "names no function.")]
        if name not in names:
            return None, [], [ConversionError("tool_choice.function.name", f"forces function {name!r}, which is not "
                                              "among the tools.")]
        new = {"type": "function", "name": name}
        outcome = CHANGED if "function" in value else TRANSFERRED
        return new, [LedgerEntry("tool_choice", outcome, "Flattened: {type: function, name}.", before=value, after=new,
                                 target="/tool_choice")], []
    if kind == "retrieval":
        kind = "file_search"
    if kind in ("file_search", "code_interpreter"):
        new = {"type": kind}
        if kind not in types:
            return None, [], [ConversionError("tool_choice.type", f"forces {kind}, but the assistant has no {kind} "
                                              "tool.")]
        outcome = CHANGED if value["type"] != kind else TRANSFERRED
        return new, [LedgerEntry("tool_choice", outcome, "Same shape in Responses." if outcome == TRANSFERRED else
                                 "The v1 retrieval tool is file_search now.", before=value, after=new,
                                 target="/tool_choice")], []
    if kind == "allowed_tools" or kind in responses_tool_types():
        return copy.deepcopy(value), [LedgerEntry("tool_choice", TRANSFERRED, "Already a Responses tool_choice.",
                                                  before=value, after=value, target="/tool_choice")], []
    return None, [], [ConversionError("tool_choice.type", f"unknown tool_choice type {kind!r}.")]
