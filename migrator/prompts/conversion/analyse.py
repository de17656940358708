"""Re-derive findings and schema reviews for an edited configuration (no source to convert from).

The conversion ledger stays as generated (it describes the move from the legacy assistant); what a reviewer
needs refreshed after an edit is the lint: legacy wording, strict-mode problems and config warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from migrator.core.model_catalog import lookup
from migrator.prompts.conversion.instructions import lint_instructions
from migrator.tools.conversion.convert import is_placeholder
from migrator.tools.conversion.strict import fix_schema, is_strict_compatible, lint_schema
from migrator.tools.conversion.types import CONFIG, ERROR, WARNING, Finding, SchemaReview

CARRIED_CODES = ("tool_dropped",)  # config findings only the conversion can know about


@dataclass
class Analysis:
    findings: list[dict[str, Any]] = field(default_factory=list)
    schemas: list[dict[str, Any]] = field(default_factory=list)


def schema_locations(config: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], bool | None]]:
    """(pointer, label, schema, strict) for every function parameters schema and the json_schema format."""
    found = []
    for i, tool in enumerate(config.get("tools") or []):
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("parameters"), dict):
            found.append((f"/tools/{i}/parameters", f"function {tool.get('name')}", tool["parameters"],
                          tool.get("strict")))
    text = config.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        found.append(("/text/format/schema", f"response format {fmt.get('name')}", fmt["schema"], fmt.get("strict")))
    return found


def review_for(pointer: str, label: str, schema: dict[str, Any], strict: bool | None,
               previous: dict[str, Any] | None) -> SchemaReview:
    """Keep the generated original/fixed pair while the schema is one of them; otherwise review it afresh."""
    if previous and schema in (previous.get("original"), previous.get("fixed")):
        original, fixed = previous["original"], previous["fixed"]
        choice = "fixed" if schema == fixed and strict else "original"
        reason = previous.get("reason", "")
    else:
        original, fixed = schema, fix_schema(schema)
        choice = "fixed" if strict and is_strict_compatible(schema) else "original"
        reason = "Edited by hand." if previous else "Added by hand."
    return SchemaReview(
        pointer=pointer, label=label, original=original, fixed=fixed, compatible=is_strict_compatible(original),
        fixable=is_strict_compatible(fixed), choice=choice, strict=bool(strict),
        source_strict=previous.get("source_strict") if previous else None, reason=reason,
    )


def _config_findings(config: dict[str, Any], today: date) -> list[Finding]:
    out: list[Finding] = []
    model = config.get("model")
    if isinstance(model, str):
        info = lookup(model)
        if is_placeholder(model) or model.startswith("<"):
            out.append(Finding(kind=CONFIG, code="placeholder", severity=ERROR, pointer="/model", text=model,
                               message=f"The model {model!r} is a placeholder, not a model id."))
        elif info.is_retired(today):
            out.append(Finding(kind=CONFIG, code="model_retired", severity=ERROR, pointer="/model", text=model,
                               message=f"{model} was shut down on {info.shutdown_date}; use {info.successor}."))
        elif info.state(today) == "retiring":
            out.append(Finding(kind=CONFIG, code="model_retiring", severity=WARNING, pointer="/model", text=model,
                               message=f"{model} shuts down on {info.shutdown_date} ({info.days_left(today)} days); "
                                       f"suggested successor: {info.successor}."))
    for i, tool in enumerate(config.get("tools") or []):
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "file_search":
            ids = tool.get("vector_store_ids") or []
            if not ids:
                out.append(Finding(kind=CONFIG, code="no_vector_store", severity=WARNING,
                                   pointer=f"/tools/{i}/vector_store_ids",
                                   message="file_search has no vector store ids, so it has nothing to search."))
            for j, store in enumerate(ids):
                if is_placeholder(store):
                    out.append(Finding(kind=CONFIG, code="placeholder", severity=ERROR, text=store,
                                       pointer=f"/tools/{i}/vector_store_ids/{j}",
                                       message=f"{store!r} is a placeholder, not a real vector store id."))
        container = tool.get("container") if tool.get("type") == "code_interpreter" else None
        if isinstance(container, dict):
            for j, file_id in enumerate(container.get("file_ids") or []):
                if is_placeholder(file_id):
                    out.append(Finding(kind=CONFIG, code="placeholder", severity=ERROR, text=file_id,
                                       pointer=f"/tools/{i}/container/file_ids/{j}",
                                       message=f"{file_id!r} is a placeholder, not a real file id."))
    fmt = (config.get("text") or {}).get("format") if isinstance(config.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_object" and "json" not in (
        config.get("instructions") or ""
    ).lower():
        out.append(Finding(kind=CONFIG, code="json_word", severity=ERROR, pointer="/instructions",
                           message='JSON mode needs the word "JSON" in the context; mention JSON in the instructions.'))
    return out


def analyse(config: dict[str, Any], *, previous_schemas: list[dict[str, Any]] | None = None,
            previous_findings: list[dict[str, Any]] | None = None, today: date | None = None) -> Analysis:
    today = today or date.today()
    by_label = {s.get("label"): s for s in previous_schemas or []}
    by_pointer = {s.get("pointer"): s for s in previous_schemas or []}
    findings: list[Finding] = []
    reviews: list[SchemaReview] = []
    for pointer, label, schema, strict in schema_locations(config):
        review = review_for(pointer, label, schema, strict, by_label.get(label) or by_pointer.get(pointer))
        reviews.append(review)
        findings.extend(lint_schema(review.original, where=pointer))
    findings.extend(_config_findings(config, today))
    tools = [t for t in config.get("tools") or [] if isinstance(t, dict)]
    findings.extend(lint_instructions(config.get("instructions"), tools=tools))
    carried = [f for f in previous_findings or [] if f.get("kind") == CONFIG and f.get("code") in CARRIED_CODES]
    return Analysis(findings=[f.to_dict() for f in findings] + carried, schemas=[r.to_dict() for r in reviews])
