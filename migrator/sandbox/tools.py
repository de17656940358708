"""Tool definitions: validation (including strict-mode schema rules) and conversion to model tools."""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError, bad_request, invalid_value, missing_param
from .model import Tool

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
UNSUPPORTED = ("allOf", "not", "dependentRequired", "dependentSchemas", "if", "then", "else", "default")


def strict_problem(schema: Any, path: tuple[str, ...] = ()) -> str | None:
    """The first strict-mode rule ``schema`` breaks, worded like the API's 400, or None."""
    if not isinstance(schema, dict):
        return None
    ctx = f"In context={path!r}, "
    if not path and schema.get("type") != "object":
        return f"{ctx}schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{schema.get('type')}\"'."
    if not path and "anyOf" in schema:
        return f"{ctx}root schema must not be 'anyOf'."
    for key in UNSUPPORTED:
        if key in schema:
            return f"{ctx}'{key}' is not permitted."
    types = schema.get("type")
    if types == "object" or (isinstance(types, list) and "object" in types) or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"{ctx}'additionalProperties' is required to be supplied and to be false."
        props = schema.get("properties") or {}
        missing = [k for k in props if k not in (schema.get("required") or [])]
        if missing:
            return f"{ctx}'required' is required to be supplied and to be an array including every key in properties. Missing '{missing[0]}'."
        for key, sub in props.items():
            found = strict_problem(sub, (*path, "properties", key))
            if found:
                return found
    if "items" in schema:
        found = strict_problem(schema["items"], (*path, "items"))
        if found:
            return found
    for key in ("anyOf",):
        for i, sub in enumerate(schema.get(key) or []):
            found = strict_problem(sub, (*path, key, str(i)))
            if found:
                return found
    for defs in ("$defs", "definitions"):
        for key, sub in (schema.get(defs) or {}).items():
            found = strict_problem(sub, (*path, defs, key))
            if found:
                return found
    return None


def check_name(name: Any, param: str) -> str:
    if name is None:
        raise missing_param(param)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ApiError(
            400,
            f"Invalid '{param}': string does not match pattern. Expected a string that matches the pattern "
            f"'^[a-zA-Z0-9_-]+$'.",
            param=param,
            code="invalid_value",
        )
    return name


def response_tools(raw: Any, vector_store_exists: Any) -> tuple[list[dict[str, Any]], list[Tool]]:
    """Validate Responses ``tools``; returns (echoed tools with defaults, model tools)."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise bad_request("Invalid type for 'tools': expected an array.", param="tools")
    echoed: list[dict[str, Any]] = []
    model_tools: list[Tool] = []
    for i, tool in enumerate(raw):
        param = f"tools[{i}]"
        if not isinstance(tool, dict) or "type" not in tool:
            raise missing_param(f"{param}.type")
        kind = tool["type"]
        if kind == "function":
            if "function" in tool and "name" not in tool:
                raise ApiError(
                    400, f"Missing required parameter: '{param}.name'.", param=f"{param}.name",
                    code="missing_required_parameter",
                )
            name = check_name(tool.get("name"), f"{param}.name")
            params = tool.get("parameters")
            strict = tool.get("strict")
            strict = True if strict is None else bool(strict)
            if strict and params is not None:
                problem = strict_problem(params)
                if problem:
                    raise ApiError(
                        400, f"Invalid schema for function '{name}': {problem}",
                        param=f"{param}.parameters", code="invalid_function_parameters",
                    )
            echoed.append({"type": "function", "name": name, "description": tool.get("description"),
                           "parameters": params, "strict": strict})
            model_tools.append(Tool("function", name=name, parameters=params))
        elif kind == "file_search":
            ids = tool.get("vector_store_ids")
            if ids is None:
                raise missing_param(f"{param}.vector_store_ids")
            for vs_id in ids:
                if not vector_store_exists(vs_id):
                    raise ApiError(404, f"Vector store with id '{vs_id}' not found.", param=f"{param}.vector_store_ids")
            limit = tool.get("max_num_results") or 20
            if not 1 <= limit <= 50:
                raise invalid_value(f"{param}.max_num_results", "expected a value between 1 and 50.")
            ranking = tool.get("ranking_options")
            if isinstance(ranking, dict) and ranking.get("ranker") not in (None, "auto", "default-2024-11-15"):
                raise invalid_value(
                    f"{param}.ranking_options.ranker",
                    f"'{ranking.get('ranker')}'. Supported values are: 'auto' and 'default-2024-11-15'.",
                )
            echoed.append({k: v for k, v in tool.items() if v is not None})
            model_tools.append(Tool("file_search", vector_store_ids=list(ids), max_num_results=limit))
        elif kind == "code_interpreter":
            if tool.get("container") is None:
                raise missing_param(f"{param}.container")
            echoed.append(dict(tool))
            model_tools.append(Tool("code_interpreter"))
        else:
            echoed.append(dict(tool))
            model_tools.append(Tool(str(kind), name=str(tool.get("name") or kind)))
    return echoed, model_tools


def assistant_tools(raw: Any, param: str = "tools") -> list[dict[str, Any]]:
    """Validate Assistants v2 ``tools`` (nested function shape, max 128)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request(f"Invalid type for '{param}': expected an array.", param=param)
    if len(raw) > 128:
        raise bad_request(f"Invalid '{param}': too many tools (max 128).", param=param)
    out = []
    for i, tool in enumerate(raw):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in ("code_interpreter", "file_search", "function"):
            raise invalid_value(
                f"{param}[{i}].type",
                f"'{kind}'. Supported values are: 'code_interpreter', 'function', and 'file_search'.",
            )
        if kind == "function":
            fn = tool.get("function")
            if not isinstance(fn, dict):
                raise missing_param(f"{param}[{i}].function")
            check_name(fn.get("name"), f"{param}[{i}].function.name")
            if fn.get("strict") and fn.get("parameters") is not None:
                problem = strict_problem(fn["parameters"])
                if problem:
                    raise ApiError(
                        400, f"Invalid schema for function '{fn['name']}': {problem}",
                        param=f"{param}[{i}].function.parameters", code="invalid_function_parameters",
                    )
        out.append(tool)
    return out


def model_tools_from_assistant(tools: list[dict[str, Any]], vector_store_ids: list[str]) -> list[Tool]:
    out = []
    for tool in tools:
        if tool["type"] == "function":
            fn = tool["function"]
            out.append(Tool("function", name=fn["name"], parameters=fn.get("parameters")))
        elif tool["type"] == "file_search":
            limit = (tool.get("file_search") or {}).get("max_num_results") or 20
            out.append(Tool("file_search", vector_store_ids=vector_store_ids, max_num_results=limit))
        else:
            out.append(Tool("code_interpreter"))
    return out
