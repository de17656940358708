"""Bounded readers for untrusted input: integers from query strings and forms, JSON from text boxes and archives.

Every door that turns user text into numbers or JSON goes through here, so the limits are the same everywhere
(they are documented in docs/export-format.md and docs/security.md):

- an integer parameter is ASCII digits only (``"²".isdigit()`` is true in Python, ``int("²")`` fails) and at
  most 18 digits (it must fit a database bigint);
- JSON is at most :data:`MAX_DEPTH` levels deep, no string longer than :data:`MAX_STRING_CHARS`, no number
  longer than :data:`MAX_NUMBER_DIGITS` digits, no NaN/Infinity. Python's own limits (the recursion limit,
  the 4,300-digit integer conversion limit) would otherwise surface as RecursionError or a bare ValueError
  deep inside whatever walks the value next.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64
MAX_STRING_CHARS = 8 * 1024 * 1024
MAX_NUMBER_DIGITS = 32
MAX_INT_PARAM_DIGITS = 18  # 999,999,999,999,999,999 < 2**63: every id column holds it
_ASCII_INT = re.compile(rf"[0-9]{{1,{MAX_INT_PARAM_DIGITS}}}")


def parse_int(raw: Any, *, low: int = 0, high: int = 2**63 - 1) -> int | None:
    """The integer ``raw`` spells in ASCII digits within [low, high], else None (never raises)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if low <= raw <= high else None
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not _ASCII_INT.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


class MalformedNumber(ValueError):
    """A request parameter that should be a number and is not; answered as a 400 naming the parameter."""

    def __init__(self, name: str, raw: str) -> None:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        super().__init__(f"{name}: {shown!r} is not a number (expected ASCII digits, at most "
                         f"{MAX_INT_PARAM_DIGITS} of them).")
        self.name = name


def param_int(params: Any, name: str, *, low: int = 0, high: int = 2**63 - 1) -> int | None:
    """The number in request parameter ``name`` (``request.GET``/``request.POST``): None when it is absent or
    empty, :class:`MalformedNumber` (a 400 naming the parameter) when it is there but not a number in range."""
    raw = params.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value = parse_int(raw, low=low, high=high)
    if value is None:
        raise MalformedNumber(name, str(raw))
    return value


def param_ints(params: Any, name: str, *, low: int = 0, high: int = 2**63 - 1) -> list[int]:
    """Every value of a repeated parameter (``?case=1&case=2``) as numbers; :class:`MalformedNumber` on any that
    is not one (empty values are skipped)."""
    values = []
    for raw in params.getlist(name):
        if not str(raw).strip():
            continue
        value = parse_int(raw, low=low, high=high)
        if value is None:
            raise MalformedNumber(name, str(raw))
        values.append(value)
    return values


@dataclass(frozen=True)
class JSONLimits:
    max_depth: int = MAX_DEPTH
    max_string_chars: int = MAX_STRING_CHARS
    max_number_digits: int = MAX_NUMBER_DIGITS


DEFAULT_LIMITS = JSONLimits()


class JSONRefused(ValueError):
    """JSON that is well-formed (or nearly) but over a limit; ``path`` says where (``tools[0].function``)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _number_digits(value: int | float) -> int:
    if isinstance(value, int):
        # bit_length is O(1); 3.33 bits per decimal digit. Never str() a huge int (that is the slow part).
        return max(1, int(value.bit_length() * 0.30103) + 1)
    return 0


def check_value(value: Any, limits: JSONLimits = DEFAULT_LIMITS, path: str = "") -> None:
    """Raise :class:`JSONRefused` naming the first place ``value`` breaks a limit. Iterative: any depth is safe."""
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limits.max_depth:
                raise JSONRefused(where, f"nested deeper than {limits.max_depth} levels")
            pairs: Iterable[tuple[Any, Any]] = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and len(key) > limits.max_string_chars:
                    raise JSONRefused(where, f"a key of {len(key):,} characters; at most "
                                             f"{limits.max_string_chars:,} are accepted")
                if isinstance(child, dict | list | str) or (isinstance(child, int | float)
                                                             and not isinstance(child, bool)):
                    stack.append((child, _join(where, key), depth + 1))
        elif isinstance(item, str):
            if len(item) > limits.max_string_chars:
                raise JSONRefused(where, f"a string of {len(item):,} characters; at most "
                                         f"{limits.max_string_chars:,} are accepted")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JSONRefused(where, "a number out of range (NaN and Infinity are not JSON)")
        elif isinstance(item, int) and _number_digits(item) > limits.max_number_digits:
            raise JSONRefused(where, f"a number with about {_number_digits(item):,} digits; at most "
                                     f"{limits.max_number_digits} are accepted")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _may_break_limits(text: str | bytes, limits: JSONLimits) -> bool:
    """Cheap, C-speed tests that prove most texts are within the limits without walking the parsed value:
    fewer brackets than the depth limit, shorter than one string may be, fewer digits than one number may
    have (or, failing that, no run of that many digits)."""
    if len(text) > limits.max_string_chars:
        return True
    kind = type(text)
    brackets = text.count("[" if kind is str else b"[") + text.count("{" if kind is str else b"{")
    if brackets > limits.max_depth:
        return True
    without = text.translate(None, b"0123456789") if kind is bytes else text.translate(_NO_DIGITS)
    if len(text) - len(without) <= limits.max_number_digits:
        return False
    run = f"[0-9]{{{limits.max_number_digits + 1}}}"
    return re.search(run if kind is str else run.encode(), text) is not None


def _parse_float(text: str) -> float:
    value = float(text)
    if len(text) > 400 or not math.isfinite(value):  # 1e999 is inf; a float cannot carry 400 digits
        raise JSONRefused("", f"the number {text[:40]}{'…' if len(text) > 40 else ''} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_parse_float)


def loads(text: str | bytes, limits: JSONLimits = DEFAULT_LIMITS) -> Any:
    """``json.loads`` that refuses, with a located :class:`JSONRefused`, what :func:`check_value` refuses.

    Malformed JSON still raises ``json.JSONDecodeError`` (a ValueError) with its line and column."""
    try:
        value = _DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))
    except RecursionError:
        raise JSONRefused("", f"nested deeper than {limits.max_depth} levels") from None
    except ValueError as exc:
        if "digits" in str(exc) and "integer" in str(exc):  # Python's own 4,300-digit conversion limit
            raise JSONRefused("", f"a number with more than 4,300 digits; at most {limits.max_number_digits} "
                                  "are accepted") from None
        raise
    if _may_break_limits(text, limits):
        check_value(value, limits)
    return value


def describe(exc: ValueError) -> str:
    """A readable one-line message for what :func:`loads` raised."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, JSONRefused):
        return f"{exc.path}: {exc.reason}" if exc.path else exc.reason
    return str(exc)
