"""Generate a JSON value that validates against a JSON schema (the subset function tools and
structured outputs use), deterministically from a seed and hints taken from the conversation."""

from __future__ import annotations

import random
import re
from typing import Any

try:  # Python 3.11+: the parser lives in re._parser
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

FORMATS = {
    "date": "2026-01-15",
    "date-time": "2026-01-15T09:30:00Z",
    "time": "09:30:00",
    "duration": "P1D",
    "email": "user@example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "uri": "https://example.com/",
}
MAX_DEPTH = 12


class Generator:
    def __init__(self, root: dict[str, Any], seed: str, hints: dict[str, str] | None = None) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.hints = {k.lower(): v for k, v in (hints or {}).items()}

    def value(self, schema: Any, name: str = "value", depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return None if depth > MAX_DEPTH else f"{name}"
        if "$ref" in schema:
            target = self._resolve(schema["$ref"])
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.value(merged, name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            hinted = self.hints.get(name.lower())
            for option in schema["enum"]:
                if hinted is not None and str(option).lower() == hinted.lower():
                    return option
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                branches = [b for b in schema[key] if not _is_null(b)] or schema[key]
                return self.value(branches[0], name, depth + 1)
        if schema.get("allOf"):
            merged = {}
            for part in schema["allOf"]:
                part = self._resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
                merged = _merge(merged, part)
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value(_merge(merged, rest), name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((t for t in kind if t != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        return getattr(self, f"_{kind}", self._string)(schema, name, depth)

    def _resolve(self, ref: str) -> dict[str, Any]:
        if ref == "#":
            return self.root
        node: Any = self.root
        for part in ref.lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def _object(self, schema: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out: dict[str, Any] = {}
        for key, sub in props.items():
            # optional properties are filled too when shallow, so outputs exercise whole schemas
            if key in required or depth < 2:
                out[key] = self.value(sub, key, depth + 1)
        return out

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        count = max(int(schema.get("minItems", 1)), 1)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        items = schema.get("items", {})
        values = [self.value(items, name, depth + 1) for _ in range(count)]
        if schema.get("uniqueItems") and len(values) > 1:
            values = values[:1]
        return values

    def _string(self, schema: dict[str, Any], name: str, depth: int) -> str:
        hinted = self.hints.get(name.lower())
        if "pattern" in schema:
            if hinted is not None and _matches(schema["pattern"], hinted):
                return hinted
            return _from_pattern(schema["pattern"])
        if hinted is not None:
            text = hinted
        elif schema.get("format") in FORMATS:
            return FORMATS[schema["format"]]
        else:
            examples = schema.get("examples")
            if isinstance(examples, list) and examples and isinstance(examples[0], str):
                text = examples[0]
            elif isinstance(schema.get("default"), str):
                text = schema["default"]
            else:
                text = f"{name}-{self.rng.randint(100, 999)}"
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        text = text.ljust(low, "x")
        return text[: int(high)] if high is not None else text

    def _number(self, schema: dict[str, Any], name: str, depth: int) -> float | int:
        return self._integer(schema, name, depth, integer=False)

    def _integer(self, schema: dict[str, Any], name: str, depth: int, integer: bool = True) -> float | int:
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in schema else 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 101) - (1 if "exclusiveMaximum" in schema else 0))
        hinted = self.hints.get(name.lower())
        if hinted is not None:
            try:
                value = float(hinted)
                if low <= value <= high:
                    return int(value) if integer else value
            except ValueError:
                pass
        value = self.rng.randint(int(low), max(int(low), int(min(high, low + 100))))
        step = schema.get("multipleOf")
        if step:
            value = int(value // step * step) if integer else value // step * step
            if value < low:
                value += step
        return int(value) if integer else float(value)

    def _boolean(self, schema: dict[str, Any], name: str, depth: int) -> bool:
        hinted = self.hints.get(name.lower())
        return hinted.lower() in ("true", "yes", "1") if hinted else True

    def _null(self, schema: dict[str, Any], name: str, depth: int) -> None:
        return None


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if key == "properties":
            out[key] = {**out.get(key, {}), **value}
        elif key == "required":
            out[key] = sorted(set(out.get(key, [])) | set(value))
        else:
            out[key] = value
    return out


def _matches(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _from_pattern(pattern: str) -> str:
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return "x"
    return _emit(parsed)


def _emit(parsed: Any) -> str:
    out: list[str] = []
    for op, arg in parsed:
        if op is sre_c.LITERAL:
            out.append(chr(arg))
        elif op is sre_c.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is sre_c.ANY:
            out.append("a")
        elif op is sre_c.IN:
            out.append(_emit_in(arg))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, _high, sub = arg
            out.append(_emit(sub) * low)
        elif op is sre_c.SUBPATTERN:
            out.append(_emit(arg[-1]))
        elif op is sre_c.BRANCH:
            out.append(_emit(arg[1][0]))
        elif op is sre_c.CATEGORY:
            out.append(_category(arg))
    return "".join(out)


def _emit_in(items: list[Any]) -> str:
    negate = any(op is sre_c.NEGATE for op, _ in items)
    if negate:
        excluded = {chr(a) for op, a in items if op is sre_c.LITERAL}
        return next(c for c in "abcxyz0" if c not in excluded)
    for op, arg in items:
        if op is sre_c.LITERAL:
            return chr(arg)
        if op is sre_c.RANGE:
            return chr(arg[0])
        if op is sre_c.CATEGORY:
            return _category(arg)
    return "a"


def _category(cat: Any) -> str:
    name = str(cat)
    if "DIGIT" in name and "NOT" not in name:
        return "0"
    if "SPACE" in name and "NOT" not in name:
        return " "
    return "a"


def generate(schema: dict[str, Any], seed: str, hints: dict[str, str] | None = None) -> Any:
    return Generator(schema, seed, hints).value(schema, "value")
