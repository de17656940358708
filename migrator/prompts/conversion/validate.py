"""Validate a stored configuration (``responses.create`` kwargs minus ``input``) before it is saved.

The shapes come from the installed ``openai`` SDK's own request types: the validator walks
``ResponseCreateParamsNonStreaming`` (TypedDicts), picks the union member a value's ``type`` names (so an
error says "tools/2/name is required", not fifteen union branches), and leaves scalars to pydantic in strict
mode. It then applies the limits the SDK types do not express (metadata sizes, strict-schema compatibility,
unique function names, sampling ranges). A pydantic ``TypeAdapter`` over the whole params type runs last as a
catch-all.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import TypeAdapter, ValidationError
from typing_extensions import is_typeddict

from migrator.core.model_catalog import parameter_problems
from migrator.tools.conversion.convert import FUNCTION_NAME
from migrator.tools.conversion.strict import lint_schema
from migrator.tools.conversion.types import INFO

# Per-request parameters that do not belong in a stored configuration.
PER_REQUEST = {
    "input": "the input is sent per request",
    "stream": "streaming is chosen per call",
    "stream_options": "streaming is chosen per call",
    "conversation": "the conversation is chosen per request (flows decide the state mode)",
    "previous_response_id": "chaining is chosen per request (flows decide the state mode)",
    "prompt": "reusable prompt objects shut down on 2026-11-30; the configuration itself replaces them",
}


@dataclass(frozen=True)
class Problem:
    pointer: str  # JSON pointer into the config ("" = the whole config)
    message: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.pointer or '(config)'}: {self.message}"


@cache
def params_type() -> Any:
    from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming

    return ResponseCreateParamsNonStreaming


@cache
def _hints(tp: Any) -> dict[str, Any]:
    return get_type_hints(tp)


@cache
def _adapter(tp: Any) -> TypeAdapter:
    return TypeAdapter(tp)


@cache
def _required_keys(tp: Any) -> frozenset[str]:
    """Required keys of an SDK TypedDict. Its modules use postponed annotations, so ``__required_keys__`` can
    miss ``Required[...]``; read the wrappers from the resolved hints instead."""
    import typing_extensions

    required = set(getattr(tp, "__required_keys__", ()))
    for key, hint in get_type_hints(tp, include_extras=True).items():
        origin = get_origin(hint)
        if origin in (typing_extensions.Required, getattr(typing, "Required", None)):
            required.add(key)
        elif origin in (typing_extensions.NotRequired, getattr(typing, "NotRequired", None)):
            required.discard(key)
    return frozenset(required)


def _type_literals(tp: Any) -> tuple[Any, ...]:
    try:
        return get_args(_hints(tp).get("type"))
    except Exception:
        return ()


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _is_sequence(tp: Any) -> bool:
    origin = get_origin(tp)
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence, typing.List):  # noqa: UP006
        return True
    return getattr(origin, "__name__", "") == "SequenceNotStr"


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check(tp: Any, value: Any, pointer: str, problems: list[Problem]) -> None:
    if tp in (Any, object):
        return
    origin = get_origin(tp)
    if _is_union(tp):
        members = get_args(tp)
        if value is None and type(None) in members:
            return
        candidates = [m for m in members if m is not type(None)]
        if isinstance(value, dict) and isinstance(value.get("type"), str):
            typed = [m for m in candidates if is_typeddict(m) and value["type"] in _type_literals(m)]
            if typed:
                _check(typed[0], value, pointer, problems)
                return
        for member in candidates:
            attempt: list[Problem] = []
            _check(member, value, pointer, attempt)
            if not attempt:
                return
        known = sorted({str(lit) for m in candidates if is_typeddict(m) for lit in _type_literals(m)})
        if isinstance(value, dict) and "type" in value and known:
            problems.append(Problem(f"{pointer}/type", f"unknown type {value['type']!r}; expected one of "
                                    f"{', '.join(known)}."))
        else:
            literals = [str(a) for m in candidates if get_origin(m) is Literal for a in get_args(m)]
            shown = f" (one of {', '.join(literals)}" + (" or an object" if known else "") + ")" if literals else ""
            problems.append(Problem(pointer, f"has an unexpected value {value!r:.80}{shown}."))
        return
    if is_typeddict(tp):
        if not isinstance(value, dict):
            problems.append(Problem(pointer, f"must be an object, not {_describe(value)}."))
            return
        hints = _hints(tp)
        for key in sorted(_required_keys(tp)):
            if key not in value:
                problems.append(Problem(f"{pointer}/{key}", "is required."))
        for key, item in value.items():
            if key not in hints:
                problems.append(Problem(f"{pointer}/{key}", "is not a field here."))
            else:
                _check(hints[key], item, f"{pointer}/{key}", problems)
        return
    if _is_sequence(tp):
        if not isinstance(value, list):
            problems.append(Problem(pointer, f"must be a list, not {_describe(value)}."))
            return
        (item_type,) = get_args(tp) or (Any,)
        for i, item in enumerate(value):
            _check(item_type, item, f"{pointer}/{i}", problems)
        return
    if origin is Literal:
        if value not in get_args(tp):
            problems.append(Problem(pointer, f"must be one of {', '.join(repr(a) for a in get_args(tp))}, not "
                                    f"{value!r:.60}."))
        return
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            problems.append(Problem(pointer, f"must be an object, not {_describe(value)}."))
            return
        args = get_args(tp)
        if len(args) == 2:
            for key, item in value.items():
                _check(args[1], item, f"{pointer}/{key}", problems)
        return
    try:
        _adapter(tp).validate_python(value, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        problems.append(Problem(pointer, f"{first['msg'].rstrip('.')}; got {value!r:.60}."))
    except Exception:  # a type pydantic cannot build a validator for: the SDK check below still runs
        return


def _semantic(config: dict[str, Any], problems: list[Problem]) -> None:
    model = config.get("model")
    if not isinstance(model, str) or not model.strip():
        problems.append(Problem("/model", "is required: name the model to call."))
    for key, upper in (("temperature", 2), ("top_p", 1)):
        value = config.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and not 0 <= value <= upper:
            problems.append(Problem(f"/{key}", f"must be between 0 and {upper}."))
    # The model/parameter rules the API enforces with a 400 (reasoning models refuse temperature, …).
    problems.extend(Problem(p.pointer, p.message) for p in parameter_problems(config))
    instructions = config.get("instructions")
    if isinstance(instructions, str) and len(instructions) > 256_000:
        problems.append(Problem("/instructions", "is longer than 256,000 characters."))
    metadata = config.get("metadata")
    if isinstance(metadata, dict):
        if len(metadata) > 16:
            problems.append(Problem("/metadata", f"has {len(metadata)} pairs; at most 16 are allowed."))
        for key, value in metadata.items():
            if len(key) > 64:
                problems.append(Problem(f"/metadata/{key}", "keys are limited to 64 characters."))
            if isinstance(value, str) and len(value) > 512:
                problems.append(Problem(f"/metadata/{key}", "values are limited to 512 characters."))
    tools = config.get("tools")
    names: dict[str, int] = {}
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                continue
            if tool.get("type") == "function":
                name = tool.get("name")
                if isinstance(name, str):
                    if not FUNCTION_NAME.match(name):
                        problems.append(Problem(f"/tools/{i}/name", "use 1-64 letters, digits, '_' or '-'."))
                    if name in names:
                        problems.append(Problem(f"/tools/{i}/name", f"duplicates tools/{names[name]}."))
                    names[name] = i
                if tool.get("strict") is True and isinstance(tool.get("parameters"), dict):
                    _strict_problems(tool["parameters"], f"/tools/{i}/parameters", problems)
            if tool.get("type") == "file_search":
                n = tool.get("max_num_results")
                if isinstance(n, int) and not isinstance(n, bool) and not 1 <= n <= 50:
                    problems.append(Problem(f"/tools/{i}/max_num_results", "must be from 1 to 50."))
    text = config.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        name = fmt.get("name")
        if isinstance(name, str) and not FUNCTION_NAME.match(name):
            problems.append(Problem("/text/format/name", "use 1-64 letters, digits, '_' or '-'."))
        if fmt.get("strict") is True and isinstance(fmt.get("schema"), dict):
            _strict_problems(fmt["schema"], "/text/format/schema", problems)


def _strict_problems(schema: dict[str, Any], where: str, problems: list[Problem]) -> None:
    blocking = [f for f in lint_schema(schema, where=where) if f.severity != INFO]
    if blocking:
        first = blocking[0]
        more = f" ({len(blocking) - 1} more)" if len(blocking) > 1 else ""
        problems.append(Problem(first.pointer, f"strict is true but {first.message[0].lower()}{first.message[1:]}"
                                f"{more} Apply the strict fix or set strict to false."))


def validate_config(config: Any) -> list[Problem]:
    """Everything wrong with ``config`` as a stored ``responses.create`` configuration; [] when it is fine."""
    if not isinstance(config, dict):
        return [Problem("", f"the configuration must be a JSON object, not {_describe(config)}.")]
    problems: list[Problem] = []
    hints = _hints(params_type())
    for key, value in config.items():
        if key in PER_REQUEST:
            problems.append(Problem(f"/{key}", f"does not belong in a stored configuration: {PER_REQUEST[key]}."))
        elif key not in hints:
            problems.append(Problem(f"/{key}", "is not a responses.create parameter."))
        else:
            _check(hints[key], value, f"/{key}", problems)
    _semantic(config, problems)
    if not problems:
        try:
            _adapter(params_type()).validate_python(config)
        except ValidationError as exc:
            for error in exc.errors()[:5]:
                loc = "/".join(str(p) for p in error["loc"])
                problems.append(Problem(f"/{loc}", error["msg"]))
    unique: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        unique.setdefault((problem.pointer, problem.message), problem)
    return list(unique.values())
