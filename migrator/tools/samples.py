"""Sample values generated from a JSON schema: the input a tool test sends and the output it returns.

Deterministic (the same schema always gives the same sample) so two test runs are comparable. The generator
covers what function tools use: types (and type lists), enum/const, properties/required, items with
minItems/maxItems, anyOf/oneOf, allOf merging, $ref into $defs/definitions, string formats, lengths and
number bounds. A ``pattern`` is satisfied from ``examples``/``default`` when they match, else by a small
builder for the common regex shapes; the caller validates the sample and reports when it could not make one.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

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
_MAX_DEPTH = 10


def sample_for(schema: Any) -> Any:
    """A value for ``schema`` (``{}`` for a function without parameters)."""
    if not isinstance(schema, dict) or not schema:
        return {}
    return _Sampler(schema).value(schema, "value", 0)


def validation_errors(instance: Any, schema: Any, *, limit: int = 5) -> list[str]:
    """Readable errors, each with the JSON pointer of the offending value; [] when valid."""
    if not isinstance(schema, dict):
        return []
    try:
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    except SchemaError as exc:
        return [f"the schema itself is invalid: {exc.message}"]
    except Exception as exc:  # a broken $ref or regex in the schema must not crash a test
        return [f"the schema could not be applied: {type(exc).__name__}: {exc}"]
    out = []
    for error in errors[:limit]:
        path = "/".join(str(p) for p in error.absolute_path)
        out.append(f"at /{path}: {error.message}" if path else f"at the top level: {error.message}")
    if len(errors) > limit:
        out.append(f"…and {len(errors) - limit} more")
    return out


class _Sampler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict):
            return None
        if depth > _MAX_DEPTH:
            return None
        if "$ref" in schema:
            target = self._resolve(schema["$ref"])
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.value(merged, name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                non_null = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
                return self.value((non_null or branches)[0], name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                if isinstance(part, dict) and "$ref" in part:
                    part = self._resolve(part["$ref"])
                merged = _merge(merged, part if isinstance(part, dict) else {})
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value(_merge(merged, rest), name, depth + 1)
        if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
            return schema["examples"][0]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((t for t in kind if t != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        maker = {
            "object": self._object,
            "array": self._array,
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "boolean": lambda s, n, d: True,
            "null": lambda s, n, d: None,
        }.get(kind, self._string)
        return maker(schema, name, depth)

    def _resolve(self, ref: Any) -> dict[str, Any]:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def _object(self, schema: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = set(schema.get("required") or [])
        out = {}
        for key, sub in props.items():
            # Optional properties are filled at the top level, so a test exercises the whole schema.
            if key in required or depth == 0:
                out[key] = self.value(sub, key, depth + 1)
        for key in required - set(out):  # required but undeclared: any string will do
            out[key] = f"sample-{key}"
        return out

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        count = max(_int(schema.get("minItems"), 1), 1)
        if "maxItems" in schema:
            count = min(count, _int(schema["maxItems"], count))
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        values = [self.value(items, name, depth + 1) for _ in range(count)]
        if schema.get("uniqueItems") and len(values) > 1 and isinstance(values[0], str):
            values = [f"{v}-{i}" if i else v for i, v in enumerate(values)]
        return values

    def _string(self, schema: dict[str, Any], name: str, depth: int) -> str:
        default = schema.get("default")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            if isinstance(default, str) and _matches(pattern, default):
                return default
            built = _from_pattern(pattern)
            if built is not None:
                return built
        if schema.get("format") in FORMATS:
            return FORMATS[schema["format"]]
        text = default if isinstance(default, str) else f"sample {name}".replace("_", " ")
        low = _int(schema.get("minLength"), 0)
        high = schema.get("maxLength")
        text = text.ljust(low, "x")
        return text[: _int(high, len(text))] if high is not None else text

    def _integer(self, schema: dict[str, Any], name: str, depth: int) -> int:
        return int(self._bounded(schema, integer=True))

    def _number(self, schema: dict[str, Any], name: str, depth: int) -> float | int:
        return self._bounded(schema, integer=False)

    @staticmethod
    def _bounded(schema: dict[str, Any], *, integer: bool) -> float | int:
        low = schema.get("minimum")
        if low is None and isinstance(schema.get("exclusiveMinimum"), int | float):
            low = schema["exclusiveMinimum"] + 1
        high = schema.get("maximum")
        if high is None and isinstance(schema.get("exclusiveMaximum"), int | float):
            high = schema["exclusiveMaximum"] - 1
        value: float = 1
        if isinstance(low, int | float):
            value = max(value, low)
        if isinstance(high, int | float):
            value = min(value, high)
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and step > 0:
            value = (int(value // step) + (1 if value % step else 0)) * step
        return int(value) if integer or float(value).is_integer() else value


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        elif key == "required" and isinstance(value, list):
            out[key] = sorted(set(out.get(key, [])) | set(value))
        else:
            out[key] = value
    return out


def _matches(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


_CLASS_SAMPLE = {r"\d": "0", r"\w": "a", r"\s": " ", ".": "a"}
_TOKEN = re.compile(r"\\[dws]|\[[^\]]+\]|\\.|\.|[^\\\[\]{}()*+?^$|]")
_QUANT = re.compile(r"\{(\d+)(?:,(\d*))?\}|[*+?]")


def _from_pattern(pattern: str) -> str | None:
    """A string matching a simple anchored pattern such as ``^INV-[0-9]{6}$`` (None when unsure)."""
    body = pattern.removeprefix("^").removesuffix("$")
    if any(c in body for c in "()|"):
        return None
    out: list[str] = []
    pos = 0
    while pos < len(body):
        token = _TOKEN.match(body, pos)
        if not token:
            return None
        pos = token.end()
        text = token.group(0)
        if text in _CLASS_SAMPLE:
            char = _CLASS_SAMPLE[text]
        elif text.startswith("["):
            inner = text[1:-1]
            if inner.startswith("^"):
                char = next((c for c in "axz0" if c not in inner), "a")
            else:
                char = "0" if inner.startswith("\\d") else inner.lstrip("\\")[0]
        elif text.startswith("\\"):
            char = text[1]
        else:
            char = text
        count = 1
        quant = _QUANT.match(body, pos)
        if quant:
            pos = quant.end()
            q = quant.group(0)
            count = int(quant.group(1)) if quant.group(1) else (0 if q in "*?" else 1)
        out.append(char * count)
    result = "".join(out)
    return result if _matches(pattern, result) else None
