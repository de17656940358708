"""Assistant → the keyword arguments of ``client.responses.create(...)`` minus ``input``.

Pure: no database, no network. Follows the migration map field by field and records a ledger entry for
every source field, so nothing disappears without a reason a reviewer can read.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from migrator.core.model_catalog import DEFAULT_REASONING_EFFORT, is_reasoning, lookup
from migrator.prompts.conversion.instructions import lint_instructions
from migrator.tools.conversion.convert import convert_tool, convert_tool_choice, is_placeholder, review_schema
from migrator.tools.conversion.types import (
    CHANGED,
    CONFIG,
    DROPPED,
    ERROR,
    NEEDS_DECISION,
    TRANSFERRED,
    WARNING,
    ConversionError,
    ConversionResult,
    Finding,
    LedgerEntry,
)

LEGACY_ID_KEY = "legacy_assistant_id"
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_INSTRUCTIONS = 256_000
MAX_TOOLS = 128
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
KWARG_ORDER = (
    "model", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "reasoning", "temperature",
    "top_p", "max_output_tokens", "metadata", "truncation", "store",
)
# Fields kept in migrator's own assistant record because Responses has no place for them.
_KEPT_IN_MIGRATOR = {
    "id": "Responses has no assistant object; the id is kept in migrator and copied into metadata.",
    "object": "Type tag of the legacy object.",
    "created_at": "Kept in migrator's assistant record.",
    "name": "Responses has no name; kept in migrator's assistant record.",
    "description": "Responses has no description; kept in migrator's assistant record.",
}
_RUN_ONLY = {"max_prompt_tokens": "Responses has no prompt-token budget; the closest control is truncation."}


def unwrap(data: Any) -> tuple[Any, str]:
    """Accept the corpus wrapper ``{"source": …, "assistant": {…}}`` and return (assistant, legacy id)."""
    if isinstance(data, dict) and isinstance(data.get("assistant"), dict) and "source" in data:
        source = data.get("source") if isinstance(data.get("source"), dict) else {}
        inner = data["assistant"]
        return inner, str(inner.get("id") or source.get("assistant_id") or "")
    if isinstance(data, dict):
        return data, str(data.get("id") or "")
    return data, ""


def _ordered(kwargs: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: kwargs[key] for key in KWARG_ORDER if key in kwargs}
    ordered.update({k: v for k, v in kwargs.items() if k not in ordered})
    return ordered


def _repoint(value: str, old: str, new: str) -> str:
    if value == old or value.startswith(old + "/"):
        return new + value[len(old):]
    return value


class _Converter:
    def __init__(self, assistant: dict[str, Any], legacy_id: str, today: date) -> None:
        self.a = assistant
        self.legacy_id = legacy_id
        self.today = today
        self.result = ConversionResult(kwargs={}, source=assistant)
        self.kwargs: dict[str, Any] = {}

    # helpers ---------------------------------------------------------------------------------------
    def ledger(self, field: str, outcome: str, reason: str, *, before: Any = None, after: Any = None,
               target: str = "") -> None:
        self.result.ledger.append(LedgerEntry(field, outcome, reason, before=before, after=after, target=target))

    def error(self, field: str, message: str) -> None:
        self.result.errors.append(ConversionError(field, message))

    def finding(self, code: str, message: str, *, severity: str = WARNING, pointer: str = "", text: str = "") -> None:
        self.result.findings.append(Finding(kind=CONFIG, code=code, message=message, severity=severity,
                                            pointer=pointer, text=text, fix=""))

    # fields ----------------------------------------------------------------------------------------
    def model(self) -> None:
        model = self.a.get("model")
        if model is None or model == "":
            self.error("model", "missing. Without a model there is nothing to call. If this file is an "
                       "assistants.update body (it carries only the fields being changed), export the full assistant "
                       "(GET /v1/assistants/{id} or the dashboard's JSON) or add \"model\" to it.")
            return
        if not isinstance(model, str):
            self.error("model", f"must be a model id string, not {type(model).__name__}.")
            return
        info = lookup(model)
        if info.is_retired(self.today) and info.successor:
            self.kwargs["model"] = info.successor
            self.ledger("model", CHANGED, f"{model} was shut down on {info.shutdown_date.isoformat()}; replaced by its "
                        f"suggested successor {info.successor}. Check tone and tool use with Try it.",
                        before=model, after=info.successor, target="/model")
            return
        self.kwargs["model"] = model
        if is_placeholder(model) or model.startswith("<"):
            self.ledger("model", NEEDS_DECISION, f"{model!r} is a placeholder (the source read the model from its "
                        "environment). Put the real model id here.", before=model, after=model, target="/model")
            self.finding("placeholder", f"The model {model!r} is a placeholder, not a model id.", severity=ERROR,
                         pointer="/model", text=model)
        elif not info.known:
            self.ledger("model", NEEDS_DECISION, f"{model!r} is not in migrator's model catalog (an Azure deployment "
                        "name or another provider's model?). Check the target connection serves it.",
                        before=model, after=model, target="/model")
        elif info.state(self.today) == "retiring":
            self.ledger("model", TRANSFERRED, f"Transferred, but {model} shuts down on "
                        f"{info.shutdown_date.isoformat()}; plan a move to {info.successor}.", before=model,
                        after=model, target="/model")
            self.finding("model_retiring", f"{model} shuts down on {info.shutdown_date.isoformat()} "
                         f"({info.days_left(self.today)} days); suggested successor: {info.successor}.",
                         pointer="/model", text=model)
        else:
            self.ledger("model", TRANSFERRED, "Transferred.", before=model, after=model, target="/model")

    def instructions(self) -> None:
        text = self.a.get("instructions")
        if text is None or text == "":
            description = self.a.get("description")
            reason = "No instructions: the model gets no system guidance."
            if isinstance(description, str) and description.strip():
                reason += (" The description reads like a persona; the Assistants API never showed it to the "
                           "model, but you may want to write instructions from it.")
                self.ledger("instructions", NEEDS_DECISION, reason, before=text)
            elif "instructions" in self.a:
                self.ledger("instructions", DROPPED, reason, before=text)
            return
        if not isinstance(text, str):
            self.error("instructions", f"must be text, not {type(text).__name__}.")
            return
        if len(text) > MAX_INSTRUCTIONS:
            self.error("instructions", f"is {len(text):,} characters; the limit is {MAX_INSTRUCTIONS:,}.")
            return
        self.kwargs["instructions"] = text
        self.ledger("instructions", TRANSFERRED, "Transferred. Send them on every call: previous_response_id does "
                    "not carry instructions over.", before=text, after=text, target="/instructions")

    def tools(self) -> list[dict[str, Any]]:
        tools = self.a.get("tools")
        resources = self.a.get("tool_resources")
        if resources is not None and not isinstance(resources, dict):
            self.error("tool_resources", "must be an object.")
            resources = {}
        file_ids = self.a.get("file_ids")
        if file_ids is not None and not (isinstance(file_ids, list) and all(isinstance(f, str) for f in file_ids)):
            self.error("file_ids", "must be a list of file ids.")
            file_ids = None
        if tools is None:
            tools = []
        if not isinstance(tools, list):
            self.error("tools", "must be a list of tool objects.")
            return []
        if len(tools) > MAX_TOOLS:
            self.error("tools", f"has {len(tools)} tools; the limit is {MAX_TOOLS}.")
            return []
        new_tools: list[dict[str, Any]] = []
        by_type: dict[str, int] = {}  # hosted tools are merged: one file_search, one code_interpreter
        seen_functions: dict[str, int] = {}
        file_ids_used = False
        for i, tool in enumerate(tools):
            kind = tool.get("type") if isinstance(tool, dict) else None
            gets_files = kind in ("code_interpreter", "retrieval") and not file_ids_used
            converted = convert_tool(tool, tool_resources=resources or {}, index=i,
                                     file_ids=file_ids if gets_files else None)
            if gets_files and file_ids:
                file_ids_used = True
            self.result.errors.extend(converted.errors)
            self.result.ledger.extend(converted.ledger)
            if converted.errors or converted.new is None:
                self.result.findings.extend(converted.findings)
                continue
            new = converted.new
            old_pointer = f"/tools/{i}"
            merge_key = new["type"] if new["type"] in ("file_search", "code_interpreter") else None
            if new["type"] == "function":
                if new["name"] in seen_functions:
                    self.error(f"tools[{i}].function.name", f"{new['name']!r} is defined twice (also tools"
                               f"[{seen_functions[new['name']]}]); function names must be unique.")
                    continue
                seen_functions[new["name"]] = i
            if merge_key and merge_key in by_type:
                target = by_type[merge_key]
                existing = new_tools[target]
                if merge_key == "file_search":
                    existing["vector_store_ids"] = list(dict.fromkeys(
                        [*existing["vector_store_ids"], *new["vector_store_ids"]]))
                    for key in ("max_num_results", "ranking_options", "filters"):
                        if key in new:
                            existing.setdefault(key, new[key])
                elif isinstance(existing.get("container"), dict) and isinstance(new.get("container"), dict):
                    existing["container"]["file_ids"] = list(dict.fromkeys(
                        [*existing["container"].get("file_ids", []), *new["container"].get("file_ids", [])]))
                self.ledger(f"tools[{i}]", CHANGED, f"A second {merge_key} tool (the v1 retrieval tool counts as "
                            f"file_search) was merged into the first one; Responses takes one of each.",
                            before=tool, target=f"/tools/{target}")
                new_pointer = f"/tools/{target}"
            else:
                new_pointer = f"/tools/{len(new_tools)}"
                if merge_key:
                    by_type[merge_key] = len(new_tools)
                new_tools.append(new)
            if new_pointer != old_pointer:
                for entry in converted.ledger:
                    entry.target = _repoint(entry.target, old_pointer, new_pointer)
                for finding in converted.findings:
                    finding.pointer = _repoint(finding.pointer, old_pointer, new_pointer)
                    finding.schema_pointer = _repoint(finding.schema_pointer, old_pointer, new_pointer)
                if converted.schema:
                    converted.schema.pointer = _repoint(converted.schema.pointer, old_pointer, new_pointer)
            self.result.findings.extend(converted.findings)
            if converted.schema:
                self.result.schemas.append(converted.schema)
        if file_ids and not file_ids_used:
            self.ledger("file_ids", DROPPED, "v1 top-level files, but the assistant has no code_interpreter or "
                        "retrieval tool that could read them.", before=file_ids)
        types = {t["type"] for t in new_tools}
        for kind in sorted((resources or {}).keys()):
            value = resources[kind]
            if kind == "file_search" and "file_search" not in types and value:
                self.ledger("tool_resources.file_search", NEEDS_DECISION, "A vector store is set, but the assistant "
                            "has no file_search tool, so it was never searched. Add a file_search tool in the editor "
                            "if the assistant should search it.", before=value)
            elif kind == "code_interpreter" and "code_interpreter" not in types and value:
                self.ledger("tool_resources.code_interpreter", DROPPED, "Files are set, but the assistant has no "
                            "code_interpreter tool.", before=value)
            elif kind not in ("file_search", "code_interpreter"):
                self.ledger(f"tool_resources.{kind}", DROPPED, f"'{kind}' is not a tool resource.", before=value)
            elif value is None:
                self.ledger(f"tool_resources.{kind}", DROPPED, "Empty (null).", before=None)
        if new_tools:
            self.kwargs["tools"] = new_tools
        elif "tools" in self.a:
            self.ledger("tools", DROPPED if tools else TRANSFERRED,
                        "No tools remain." if tools else "No tools.", before=tools)
        return new_tools

    def tool_choice(self, tools: list[dict[str, Any]]) -> None:
        if "tool_choice" not in self.a or self.a["tool_choice"] is None:
            return
        new, entries, errors = convert_tool_choice(self.a["tool_choice"], tools=tools)
        self.result.ledger.extend(entries)
        self.result.errors.extend(errors)
        if new is not None:
            self.kwargs["tool_choice"] = new

    def parallel_tool_calls(self, tools: list[dict[str, Any]]) -> None:
        value = self.a.get("parallel_tool_calls")
        if value is not None and not isinstance(value, bool):
            self.error("parallel_tool_calls", "must be true or false.")
            return
        if value is not None:
            self.kwargs["parallel_tool_calls"] = value
            self.ledger("parallel_tool_calls", TRANSFERRED, "Same name in Responses.", before=value, after=value,
                        target="/parallel_tool_calls")
        elif tools:
            self.kwargs["parallel_tool_calls"] = True
            self.ledger("parallel_tool_calls (run default)", CHANGED, "Assistants runs allowed parallel tool calls by "
                        "default; set explicitly so the behaviour is visible and reviewable.", after=True,
                        target="/parallel_tool_calls")

    def response_format(self) -> None:
        fmt = self.a.get("response_format")
        if fmt is None:
            return
        if fmt == "auto":
            self.ledger("response_format", TRANSFERRED, "'auto' is the Responses default (plain text); text.format is "
                        "omitted.", before=fmt)
            return
        if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
            self.error("response_format", f"must be 'auto' or an object with a type; got {fmt!r}.")
            return
        kind = fmt["type"]
        if kind == "text":
            new: dict[str, Any] = {"type": "text"}
        elif kind == "json_object":
            new = {"type": "json_object"}
            if "json" not in (self.a.get("instructions") or "").lower():
                self.finding("json_word", "JSON mode needs the word \"JSON\" somewhere in the context; the instructions "
                             "do not contain it, so calls fail unless every input does. Mention JSON in the "
                             "instructions.", severity=ERROR, pointer="/instructions")
        elif kind == "json_schema":
            spec = fmt.get("json_schema") if isinstance(fmt.get("json_schema"), dict) else None
            flat = spec is None and "schema" in fmt  # already the flat Responses shape
            spec = spec if spec is not None else (fmt if flat else None)
            if spec is None:
                self.error("response_format.json_schema", "missing: a json_schema format needs "
                           "{name, schema}.")
                return
            where = "response_format" if flat else "response_format.json_schema"
            name = spec.get("name")
            if not isinstance(name, str) or not name:
                self.error(f"{where}.name", "missing; Responses requires a name (letters, digits, _ or -).")
                return
            schema = spec.get("schema")
            if not isinstance(schema, dict):
                self.error(f"{where}.schema", "missing; Responses requires the JSON schema itself. Add one, or "
                           "switch to {\"type\": \"json_object\"}.")
                return
            source_strict = spec.get("strict")
            review, findings = review_schema(schema, pointer="/text/format/schema",
                                             label=f"response format {name}", source_strict=source_strict
                                             if isinstance(source_strict, bool) else None)
            self.result.findings.extend(findings)
            self.result.schemas.append(review)
            new = {"type": "json_schema", "name": name,
                   "schema": review.fixed if review.choice == "fixed" else review.original,
                   "strict": review.strict}
            if isinstance(spec.get("description"), str):
                new["description"] = spec["description"]
            self.ledger(f"{where}.strict", NEEDS_DECISION if not review.compatible else
                        (CHANGED if source_strict is None else TRANSFERRED), review.reason,
                        before=source_strict, after=review.strict, target="/text/format/strict")
        else:
            self.error("response_format.type", f"unknown format {kind!r}; expected text, json_object or json_schema.")
            return
        self.kwargs["text"] = {"format": new}
        self.ledger("response_format", CHANGED, "Moved to text.format" + (" and flattened (name, schema, strict sit "
                    "directly on the format)." if kind == "json_schema" else "."), before=fmt, after={"format": new},
                    target="/text/format")

    def reasoning_effort(self) -> None:
        effort = self.a.get("reasoning_effort")
        if effort is None or effort == "":
            if "reasoning_effort" in self.a:
                self.ledger("reasoning_effort", DROPPED, "Not set (null); the model's default applies.", before=effort)
            return
        if effort not in REASONING_EFFORTS:
            self.error("reasoning_effort", f"{effort!r} is not one of {', '.join(REASONING_EFFORTS)}.")
            return
        model = self.kwargs.get("model")
        if isinstance(model, str) and lookup(model).known and not is_reasoning(model):
            self.ledger("reasoning_effort", DROPPED, f"{model} is not a reasoning model and refuses reasoning.effort "
                        "(the API answers 400), so it was left out. Choose a reasoning model in the editor if the "
                        f"assistant should reason ({effort!r} effort).", before=effort)
            return
        self.kwargs["reasoning"] = {"effort": effort}
        self.ledger("reasoning_effort", CHANGED, "Moved to reasoning.effort. Not every model accepts every value.",
                    before=effort, after={"effort": effort}, target="/reasoning")

    def sampling(self) -> None:
        for key, upper in (("temperature", 2), ("top_p", 1)):
            value = self.a.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= upper:
                self.error(key, f"must be a number from 0 to {upper}, not {value!r}.")
                continue
            model = self.kwargs.get("model")
            if isinstance(model, str) and is_reasoning(model):
                self._drop_sampling(key, value, model)
                continue
            self.kwargs[key] = value
            self.ledger(key, TRANSFERRED, "Same name in Responses.", before=value, after=value, target=f"/{key}")

    def _drop_sampling(self, key: str, value: Any, model: str) -> None:
        """A reasoning model answers 400 to temperature/top_p: drop them and steer with reasoning.effort."""
        source_model = self.a.get("model")
        was = f" (the assistant ran on {source_model}, which is not one)" if source_model != model else ""
        effort = (self.kwargs.get("reasoning") or {}).get("effort")
        if effort is None:
            effort = DEFAULT_REASONING_EFFORT
            self.kwargs["reasoning"] = {"effort": effort}
            self.ledger("reasoning (Responses only)", CHANGED, f"Set reasoning.effort to {effort!r} in place of "
                        f"{key}: {model} steers with reasoning effort. 'low' gives fast, direct answers closest "
                        "to a chat model and every reasoning model accepts it; raise it to 'medium' or 'high' "
                        "if answers need more thought.", after={"effort": effort}, target="/reasoning")
        self.ledger(key, DROPPED, f"{model} is a reasoning model{was} and refuses {key} (the API answers 400 "
                    f"unsupported_parameter), so {key}={value!r} was dropped. Use reasoning.effort {effort!r} "
                    "instead (set in this configuration).", before=value, target="/reasoning")

    def metadata(self) -> None:
        source = self.a.get("metadata")
        metadata: dict[str, str] = {}
        if self.legacy_id:
            metadata[LEGACY_ID_KEY] = self.legacy_id[:MAX_METADATA_VALUE]
        if source is not None and not isinstance(source, dict):
            self.error("metadata", "must be an object of string keys and values.")
            return
        for key, value in (source or {}).items():
            field = f"metadata.{key}"
            if key == LEGACY_ID_KEY and self.legacy_id:
                self.ledger(field, DROPPED, "Overwritten by the assistant's own id.", before=value)
                continue
            if len(key) > MAX_METADATA_KEY:
                self.ledger(field, DROPPED, f"Keys are limited to {MAX_METADATA_KEY} characters.", before=value)
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            if len(text) > MAX_METADATA_VALUE:
                self.ledger(field, DROPPED, f"Values are limited to {MAX_METADATA_VALUE} characters; this one has "
                            f"{len(text)}. Keep it in migrator instead.", before=value)
                continue
            if len(metadata) >= MAX_METADATA_PAIRS:
                self.ledger(field, DROPPED, f"Metadata holds at most {MAX_METADATA_PAIRS} pairs and one is used for "
                            f"{LEGACY_ID_KEY}.", before=value)
                continue
            metadata[key] = text
            if isinstance(value, str):
                self.ledger(field, TRANSFERRED, "Sent as metadata on every response (Responses has no per-assistant "
                            "metadata).", before=value, after=text, target=f"/metadata/{key}")
            else:
                self.ledger(field, CHANGED, "Metadata values must be strings; the value is sent as compact JSON.",
                            before=value, after=text, target=f"/metadata/{key}")
        if self.legacy_id:
            self.ledger("id", CHANGED, f"Copied into metadata.{LEGACY_ID_KEY} so every response can be traced to the "
                        "assistant it replaces.", before=self.legacy_id, after=metadata[LEGACY_ID_KEY],
                        target=f"/metadata/{LEGACY_ID_KEY}")
        if metadata:
            self.kwargs["metadata"] = metadata

    def run_settings(self) -> None:
        strategy = self.a.get("truncation_strategy")
        if isinstance(strategy, dict) and strategy.get("type") == "last_messages":
            self.kwargs["truncation"] = "auto"
            self.ledger("truncation_strategy", NEEDS_DECISION, "Responses has no 'last N messages' truncation: "
                        "'auto' drops the oldest items only when the context is full. Trim the input yourself if "
                        "you need the exact window.", before=strategy, after="auto", target="/truncation")
        else:
            self.kwargs["truncation"] = "auto"
            self.ledger("truncation_strategy (run default)", CHANGED, "Assistants runs truncated long threads "
                        "automatically; Responses fails with a 400 instead unless truncation is 'auto'. Set to "
                        "'auto' to keep the old behaviour; a flow may choose 'disabled'.", before=strategy,
                        after="auto", target="/truncation")
        max_tokens = self.a.get("max_completion_tokens")
        if max_tokens is not None:
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
                self.error("max_completion_tokens", "must be a positive whole number.")
            else:
                self.kwargs["max_output_tokens"] = max_tokens
                self.ledger("max_completion_tokens", CHANGED, "Renamed max_output_tokens; it now includes reasoning "
                            "tokens, so leave headroom for reasoning models.", before=max_tokens, after=max_tokens,
                            target="/max_output_tokens")
        self.kwargs["store"] = True
        self.ledger("store (Responses only)", CHANGED, "Responses are stored (30 days by default) so they can be "
                    "chained and inspected, as runs were. A flow can switch it off (stateless, zero retention).",
                    after=True, target="/store")

    def leftovers(self) -> None:
        handled = {
            "model", "instructions", "tools", "tool_resources", "file_ids", "tool_choice", "parallel_tool_calls",
            "response_format", "reasoning_effort", "temperature", "top_p", "metadata", "truncation_strategy",
            "max_completion_tokens",
        }
        logged = {e.field.split(".")[0].split("[")[0].split(" ")[0] for e in self.result.ledger}
        for key, value in self.a.items():
            if key in handled:
                if key not in logged:  # present but empty/null: say so, so every source field is accounted for
                    self.ledger(key, DROPPED, "Empty or null in the source; nothing to carry over.", before=value)
                continue
            if key in _KEPT_IN_MIGRATOR:
                if key == "id" and self.legacy_id:
                    continue
                self.ledger(key, DROPPED, _KEPT_IN_MIGRATOR[key], before=value)
            elif key in _RUN_ONLY:
                self.ledger(key, DROPPED, _RUN_ONLY[key], before=value)
            else:
                self.ledger(key, DROPPED, f"'{key}' is not an Assistants API field (the API or SDK rejected it), so it "
                            "never reached the model.", before=value)

    def run(self) -> ConversionResult:
        self.model()
        self.instructions()
        tools = self.tools()
        self.tool_choice(tools)
        self.parallel_tool_calls(tools)
        self.response_format()
        self.reasoning_effort()
        self.sampling()
        self.metadata()
        self.run_settings()
        self.leftovers()
        self.result.findings.extend(lint_instructions(self.kwargs.get("instructions"), tools=tools))
        self.result.kwargs = _ordered(self.kwargs)
        return self.result


def convert(assistant: Any, *, today: date | None = None) -> ConversionResult:
    """Convert an assistant API object, a create/update body, or the corpus wrapper form.

    ``result.errors`` lists input that cannot be converted (each naming its field); when it is not empty,
    ``result.kwargs`` is partial and must not be used.
    """
    data, legacy_id = unwrap(assistant)
    if not isinstance(data, dict):
        result = ConversionResult(kwargs={})
        result.errors.append(ConversionError("", f"expected a JSON object describing one assistant, got "
                                             f"{type(data).__name__}."))
        return result
    return _Converter(data, legacy_id, today or date.today()).run()
