"""A small JSON Schema checker (the subset Structured Outputs uses), so outcomes say whether a reply kept its
contract without a third-party validator: type, properties, required, additionalProperties, items, enum,
const, anyOf, $ref to $defs/definitions, and the numeric/string/array bounds."""

from __future__ import annotations

import json
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "integer": (int,), "number": (int, float),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        if not part:
            continue
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def valid(value: Any, schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> bool:
    """Whether ``value`` satisfies ``schema`` (unknown keywords are ignored, as JSON Schema says)."""
    if schema is True or schema is None:
        return True
    if schema is False or not isinstance(schema, dict) or depth > 64:
        return schema is not False and depth <= 64
    root = root if root is not None else schema
    if "$ref" in schema:
        return valid(value, _resolve(schema["$ref"], root), root, depth + 1)
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "const" in schema and value != schema["const"]:
        return False
    for key in ("anyOf", "oneOf"):
        if key in schema and not any(valid(value, s, root, depth + 1) for s in schema[key]):
            return False
    if "allOf" in schema and not all(valid(value, s, root, depth + 1) for s in schema["allOf"]):
        return False
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        if any(name not in value for name in schema.get("required") or []):
            return False
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                if not valid(item, props[name], root, depth + 1):
                    return False
            elif extra is False or (isinstance(extra, dict) and not valid(item, extra, root, depth + 1)):
                return False
    if isinstance(value, list):
        if "items" in schema and not all(valid(v, schema["items"], root, depth + 1) for v in value):
            return False
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            return False
    if isinstance(value, str) and not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    return True


def check_output(text_format: dict[str, Any] | None, output_text: str) -> bool | None:
    """True/False when the flow promises JSON (``json_schema`` or ``json_object``), None for plain text."""
    kind = (text_format or {}).get("type")
    if kind not in ("json_schema", "json_object"):
        return None
    try:
        value = json.loads(output_text)
    except (TypeError, ValueError):
        return False
    if kind == "json_object":
        return isinstance(value, dict)
    return valid(value, text_format.get("schema") or {})
