"""Copy as code": a stored configuration as a Python SDK call, a JavaScript SDK call and a JSON body."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_INPUT = "Hello!"
_INDENT = "    "


def _py_string(text: str, depth: int) -> str:
    """A Python string literal; long multi-line text becomes implicit concatenation, one line per source line."""
    if "\n" not in text or len(text) < 80:
        return json.dumps(text, ensure_ascii=False)
    pad = _INDENT * (depth + 1)
    lines = text.splitlines(keepends=True)
    parts = "\n".join(pad + json.dumps(line, ensure_ascii=False) for line in lines)
    return "(\n" + parts + "\n" + _INDENT * depth + ")"


def py_literal(value: Any, depth: int = 0) -> str:
    """JSON-able value → Python source (True/False/None, dicts and lists indented)."""
    pad, inner = _INDENT * depth, _INDENT * (depth + 1)
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str):
        return _py_string(value, depth)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ",\n".join(f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {py_literal(v, depth + 1)}"
                           for k, v in value.items())
        return "{\n" + items + ",\n" + pad + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = ",\n".join(f"{inner}{py_literal(v, depth + 1)}" for v in value)
        return "[\n" + items + ",\n" + pad + "]"
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def python_call(config: dict[str, Any], *, input_text: str = DEFAULT_INPUT) -> str:
    args = "".join(f"{_INDENT}{key}={py_literal(value, 1)},\n" for key, value in config.items())
    args += f"{_INDENT}input={py_literal(input_text, 1)},\n"
    return (
        "from openai import OpenAI\n\n"
        "client = OpenAI()  # reads OPENAI_API_KEY\n\n"
        f"response = client.responses.create(\n{args})\n"
        "print(response.output_text)\n"
    )


def javascript_call(config: dict[str, Any], *, input_text: str = DEFAULT_INPUT) -> str:
    body = json.dumps({**config, "input": input_text}, indent=2, ensure_ascii=False)
    return (
        'import OpenAI from "openai";\n\n'
        "const client = new OpenAI(); // reads OPENAI_API_KEY\n\n"
        f"const response = await client.responses.create({body});\n"
        "console.log(response.output_text);\n"
    )


def json_body(config: dict[str, Any], *, input_text: str = DEFAULT_INPUT) -> str:
    return json.dumps({**config, "input": input_text}, indent=2, ensure_ascii=False)


def kwargs_json(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, ensure_ascii=False)


def python_kwargs(config: dict[str, Any]) -> str:
    """Just the keyword arguments, for pasting into an existing call (`--format python` prints python_call)."""
    return "".join(f"{key}={py_literal(value, 0)},\n" for key, value in config.items())
