"""Strict-mode lint and fixes for JSON schemas (function parameters and json_schema text formats).

The rules follow the structured-outputs "Supported schemas" list as summarised in the migration map (§3.4):
root is an object (never anyOf), every object closes ``additionalProperties``, every property is required
(optional fields become nullable unions), only a known keyword subset is allowed, ``$defs``/``$ref`` work.
The fix applies the same moves the SDK's own strict helper applies, and moves constraints that strict mode
cannot express into the description so their intent is not lost silently. Nothing here touches the network.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from migrator.tools.conversion.types import ERROR, INFO, STRICT, WARNING, Finding

# Keywords strict mode understands (structure, annotations and the supported constraint keywords).
ALLOWED_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref",
        "$defs", "definitions", "description", "title", "pattern", "format", "multipleOf", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
    }
)
# Removed without losing meaning.
META_KEYWORDS = frozenset({"$schema", "$id", "$comment"})
SUPPORTED_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
SUPPORTED_TYPES = frozenset({"string", "number", "boolean", "integer", "object", "array", "null"})

MAX_PROPERTIES = 5000
MAX_DEPTH = 10
MAX_ENUM_VALUES = 1000

_NOTE_TEMPLATES = {
    "default": "Default: {}.",
    "examples": "Examples: {}.",
    "minLength": "At least {} characters.",
    "maxLength": "At most {} characters.",
    "uniqueItems": "Items must be unique.",
    "minProperties": "At least {} entries.",
    "maxProperties": "At most {} entries.",
    "format": "Format: {}.",
}


def escape(token: str) -> str:
    """Escape one JSON-pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: Any) -> str:
    return pointer + "".join("/" + escape(str(t)) for t in tokens)


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _types(node: dict[str, Any]) -> list[str]:
    value = node.get("type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    return []


def _is_object(node: dict[str, Any]) -> bool:
    return "object" in _types(node) or ("type" not in node and isinstance(node.get("properties"), dict))


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """Resolve a local ``#/...`` reference inside ``root``; None when it is not local or does not exist."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    target: Any = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or token not in target:
            return None
        target = target[token]
    return target if isinstance(target, dict) else None


# --------------------------------------------------------------------------------------------- lint


def lint_schema(schema: Any, *, where: str) -> list[Finding]:
    """Every strict-mode violation in ``schema``; ``where`` is the schema's pointer in the config."""
    findings: list[Finding] = []

    def add(code: str, pointer: str, message: str, *, fix: str = "", severity: str = ERROR, text: Any = None) -> None:
        findings.append(
            Finding(
                kind=STRICT, code=code, message=message, severity=severity, pointer=pointer, schema_pointer=where,
                fix=fix, fixable=bool(fix), text=_short(text) if text is not None else "",
            )
        )

    if not isinstance(schema, dict):
        add("not_a_schema", where, "The schema must be a JSON object.", text=schema)
        return findings
    if "anyOf" in schema or "oneOf" in schema:
        add("root_anyof", where, "The root of a strict schema must be a plain object, not anyOf/oneOf. "
            "Wrap the alternatives in a property of an object, or keep strict off.")
    root_types = _types(schema)
    if not root_types and "anyOf" not in schema and "oneOf" not in schema:
        if isinstance(schema.get("properties"), dict) or not schema:
            add("missing_type", where, 'The root schema has no "type"; strict mode needs "type": "object".',
                fix='add "type": "object"')
        else:
            add("missing_type", where, 'The root schema has no "type"; strict mode needs "type": "object".')
    elif root_types and root_types != ["object"]:
        add("root_not_object", where, f"The root must be an object; it is {_short(schema.get('type'))}. "
            "Put the value in a property of an object, or keep strict off.", text=schema.get("type"))

    totals = {"properties": 0, "enum": 0, "depth": 0}

    def walk(node: Any, pointer: str, depth: int) -> None:
        if not isinstance(node, dict):
            if node is True or node is False:
                add("boolean_schema", pointer, "Boolean schemas (true/false) are not supported in strict mode.")
            return
        totals["depth"] = max(totals["depth"], depth)
        ref = node.get("$ref")
        if ref is not None:
            siblings = sorted(k for k in node if k != "$ref")
            if siblings:
                target = _resolve(schema, ref)
                fixable = target is not None and ref != "#"
                add("ref_siblings", pointer, f"A $ref with sibling keywords ({', '.join(siblings)}) is not "
                    "supported; the referenced schema has to be inlined.",
                    fix="inline the referenced schema" if fixable else "")
            elif _resolve(schema, ref) is None:
                add("unresolved_ref", pointer, f"$ref {ref!r} does not point at a definition inside this schema.",
                    text=ref)
        for key in node:
            if key in ALLOWED_KEYWORDS or key in ("oneOf", "allOf", "nullable"):
                continue
            if key in META_KEYWORDS:
                add("meta_keyword", join(pointer, key), f'"{key}" is not needed and is removed.',
                    fix=f'remove "{key}"', severity=INFO)
                continue
            note = " Its value is moved into the description." if key in _NOTE_TEMPLATES else ""
            lossy = key in ("not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies")
            add("unsupported_keyword", join(pointer, key),
                f'"{key}" is not supported in strict mode.' + (note or (
                    " The constraint is dropped; say it in the description if it matters." if lossy else "")),
                fix=f'remove "{key}"', text=node[key])
        if "oneOf" in node and pointer != where:
            add("one_of", join(pointer, "oneOf"), "oneOf is not supported; anyOf is.", fix="rename oneOf to anyOf")
        if "allOf" in node:
            branches = node["allOf"]
            ok = isinstance(branches, list) and all(
                isinstance(b, dict) and (("$ref" not in b) or _resolve(schema, b["$ref"]) is not None)
                for b in branches
            )
            add("all_of", join(pointer, "allOf"), "allOf is not supported in strict mode; the branches have to be "
                "merged into one schema.", fix="merge the allOf branches" if ok else "")
        if node.get("nullable") is True:
            add("nullable", join(pointer, "nullable"), '"nullable" is an OpenAPI keyword; strict mode uses a '
                'type union with "null".', fix='add "null" to "type"')
        elif "nullable" in node:
            add("nullable", join(pointer, "nullable"), '"nullable" is an OpenAPI keyword, not JSON Schema.',
                fix='remove "nullable"')
        for t in _types(node):
            if t not in SUPPORTED_TYPES:
                add("unsupported_type", join(pointer, "type"), f"Type {t!r} is not a JSON Schema type.", text=t)
        fmt = node.get("format")
        if fmt is not None and fmt not in SUPPORTED_FORMATS:
            add("unsupported_format", join(pointer, "format"), f"Format {fmt!r} is not supported in strict mode "
                f"(supported: {', '.join(sorted(SUPPORTED_FORMATS))}); it is moved into the description.",
                fix='remove "format"', severity=WARNING, text=fmt)
        enum = node.get("enum")
        if isinstance(enum, list):
            totals["enum"] += len(enum)
        has_shape = any(k in node for k in ("type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref"))
        if not has_shape:
            if isinstance(node.get("properties"), dict):
                add("missing_type", pointer, 'This schema has properties but no "type".', fix='add "type": "object"')
            elif "items" in node:
                add("missing_type", pointer, 'This schema has items but no "type".', fix='add "type": "array"')
            elif pointer != where:
                add("missing_type", pointer, 'This schema has no "type"; strict mode needs one for every value. '
                    'Give it a type (for example "string"), or keep strict off.')
        if "array" in _types(node):
            items = node.get("items")
            if items is None:
                add("array_items", pointer, 'An array needs "items" describing its elements in strict mode.')
            elif isinstance(items, list):
                add("array_items", join(pointer, "items"), "Tuple-style items (a list of schemas) are not supported.")
        if _is_object(node):
            props = node.get("properties")
            props = props if isinstance(props, dict) else {}
            totals["properties"] += len(props)
            extra = node.get("additionalProperties", None)
            if extra is not False:
                if extra is None:
                    message = 'Objects must set "additionalProperties": false in strict mode.'
                else:
                    message = ('This object allows free-form keys ("additionalProperties": '
                               f"{_short(extra, 40)}); strict mode does not. The fix closes it, so only the "
                               "listed properties can be sent.")
                add("additional_properties", join(pointer, "additionalProperties"), message,
                    fix='set "additionalProperties": false')
            required = node.get("required")
            required = required if isinstance(required, list) else []
            if "required" in node and not isinstance(node.get("required"), list):
                add("required_shape", join(pointer, "required"), '"required" must be a list of property names.',
                    fix="list every property in required")
            for name in props:
                if name not in required:
                    add("not_required", join(pointer, "properties", name),
                        f"'{name}' is optional here; strict mode needs every property in \"required\". The fix "
                        "makes it required and nullable, so the model sends null when it has no value.",
                        fix=f"add '{name}' to required and allow null")
            for name in required:
                if name not in props:
                    add("unknown_required", join(pointer, "required"),
                        f"'{name}' is listed in required but is not a property.", fix=f"remove '{name}' from required",
                        text=name)
            for name, sub in props.items():
                walk(sub, join(pointer, "properties", name), depth + 1)
            if isinstance(extra, dict):
                walk(extra, join(pointer, "additionalProperties"), depth + 1)
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, join(pointer, "items"), depth)
        for combinator in ("anyOf", "oneOf", "allOf"):
            branches = node.get(combinator)
            if isinstance(branches, list):
                for i, branch in enumerate(branches):
                    walk(branch, join(pointer, combinator, i), depth)
        for defs_key in ("$defs", "definitions"):
            defs = node.get(defs_key)
            if isinstance(defs, dict):
                for name, sub in defs.items():
                    walk(sub, join(pointer, defs_key, name), depth)

    walk(schema, where, 1)
    if totals["properties"] > MAX_PROPERTIES:
        add("too_large", where, f"{totals['properties']} object properties in total; strict mode allows "
            f"{MAX_PROPERTIES}.")
    if totals["depth"] > MAX_DEPTH:
        add("too_deep", where, f"Objects are nested {totals['depth']} levels deep; strict mode allows {MAX_DEPTH}.")
    if totals["enum"] > MAX_ENUM_VALUES:
        add("too_many_enum_values", where, f"{totals['enum']} enum values in total; strict mode allows "
            f"{MAX_ENUM_VALUES}.")
    return findings


def is_strict_compatible(schema: Any) -> bool:
    """No finding above info level."""
    return not any(f.severity != INFO for f in lint_schema(schema, where=""))


# ---------------------------------------------------------------------------------------------- fix


def _add_note(node: dict[str, Any], note: str) -> None:
    if not note:
        return
    current = node.get("description")
    node["description"] = f"{current.rstrip()} {note}" if isinstance(current, str) and current.strip() else note


def _note_for(key: str, value: Any) -> str:
    template = _NOTE_TEMPLATES.get(key)
    if template is None:
        return ""
    if key == "examples" and isinstance(value, list):
        return template.format(", ".join(_short(v, 60) for v in value[:5]))
    if key in ("default", "format"):
        return template.format(_short(value, 80) if key == "default" else value)
    return template.format(value)


def make_nullable(node: Any) -> Any:
    """Allow null in a property schema (the strict-mode spelling of "optional")."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if "null" not in types:
            node["type"] = [*types, "null"]
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node.get("anyOf"), list):
        if not any(isinstance(b, dict) and b.get("type") == "null" for b in node["anyOf"]):
            node["anyOf"] = [*node["anyOf"], {"type": "null"}]
        return node
    if isinstance(node.get("enum"), list):
        if None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    if "$ref" in node or "const" in node:
        description = node.pop("description", None)
        wrapped: dict[str, Any] = {"anyOf": [node, {"type": "null"}]}
        if description:
            wrapped["description"] = description
        return wrapped
    return node


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge two object-ish schemas for allOf: union of properties and required, first value wins otherwise."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(value, dict):
            merged["properties"] = {**value, **(merged.get("properties") or {})}
        elif key == "required" and isinstance(value, list):
            merged["required"] = list(dict.fromkeys([*(merged.get("required") or []), *value]))
        elif key == "description" and "description" in merged and merged["description"] != value:
            merged["description"] = f"{merged['description']} {value}"
        else:
            merged.setdefault(key, value)
    return merged


def fix_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict-compatible copy of ``schema`` where that is possible; the input is never modified.

    What cannot be fixed mechanically (a root anyOf, a value with no type, tuple arrays, size limits) is left
    as it is, so linting the result still reports it.
    """
    if not isinstance(schema, dict):
        return schema
    root = copy.deepcopy(schema)
    if not root:
        return {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    original_root = copy.deepcopy(schema)

    def fix(node: Any, *, is_root: bool = False, seen: tuple[str, ...] = ()) -> Any:
        if not isinstance(node, dict):
            return node
        node = dict(node)
        ref = node.get("$ref")
        if ref is not None and len(node) > 1:
            target = _resolve(original_root, ref)
            if target is not None and ref != "#" and ref not in seen:
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                node = {**copy.deepcopy(target), **siblings}
                seen = (*seen, ref)
        if "allOf" in node:
            branches = node.pop("allOf")
            if isinstance(branches, list):
                for branch in branches:
                    if isinstance(branch, dict) and "$ref" in branch:
                        target = _resolve(original_root, branch["$ref"])
                        branch = {**copy.deepcopy(target), **{k: v for k, v in branch.items() if k != "$ref"}} \
                            if target is not None else branch
                    if isinstance(branch, dict):
                        node = _merge(node, branch)
        if "oneOf" in node and not is_root:
            branches = node.pop("oneOf")
            node["anyOf"] = [*(node.get("anyOf") or []), *(branches if isinstance(branches, list) else [])]
        if "nullable" in node:
            nullable = node.pop("nullable")
            if nullable is True and "type" in node:
                node = make_nullable(node)
        for key in list(node):
            if key in ALLOWED_KEYWORDS or key in ("oneOf",):
                continue
            value = node.pop(key)
            if key not in META_KEYWORDS:
                _add_note(node, _note_for(key, value))
        if "format" in node and node["format"] not in SUPPORTED_FORMATS:
            _add_note(node, _note_for("format", node.pop("format")))
        if "type" not in node and not any(k in node for k in ("enum", "const", "anyOf", "oneOf", "$ref")):
            if isinstance(node.get("properties"), dict) or is_root:
                node["type"] = "object"
            elif "items" in node:
                node["type"] = "array"
        if isinstance(node.get("items"), dict):
            node["items"] = fix(node["items"], seen=seen)
        for combinator in ("anyOf", "oneOf"):
            if isinstance(node.get(combinator), list):
                node[combinator] = [fix(b, seen=seen) for b in node[combinator]]
        for defs_key in ("$defs", "definitions"):
            if isinstance(node.get(defs_key), dict):
                node[defs_key] = {name: fix(sub, seen=seen) for name, sub in node[defs_key].items()}
        if _is_object(node):
            props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
            required = node.get("required") if isinstance(node.get("required"), list) else []
            fixed_props = {}
            for name, sub in props.items():
                sub = fix(sub, seen=seen)
                fixed_props[name] = sub if name in required else make_nullable(sub)
            node["properties"] = fixed_props
            node["required"] = list(fixed_props)
            node["additionalProperties"] = False
        return node

    return fix(root, is_root=True)
