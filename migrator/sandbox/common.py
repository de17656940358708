"""What every endpoint module shares: the request context, validation helpers and list bodies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import SandboxConfig
from .errors import ApiError, bad_request, invalid_type, invalid_value, missing_param
from .model import Model
from .store import Store, public


@dataclass
class Ctx:
    """One request, as handlers see it."""

    store: Store
    model: Model
    config: SandboxConfig
    method: str
    path: str
    query: dict[str, str]
    body: Any = None
    form: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers set by a handler
    request_headers: dict[str, str] = field(default_factory=dict)
    # --stream-drop-rate: given a stream's event count, the seeded point to cut it at (None: not this one)
    drop_point: Callable[[int], int | None] | None = None

    def json(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise bad_request("The request body must be a JSON object.")
        return self.body


Handler = Callable[..., Any]
Route = tuple[str, str, Handler]  # method, path pattern with {name} parts (after /v1), handler


def now() -> int:
    return int(time.time())


def require(body: dict[str, Any], name: str) -> Any:
    if body.get(name) is None:
        raise missing_param(name)
    return body[name]


def opt_str(body: dict[str, Any], name: str, max_len: int | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(name, "a string")
    if max_len is not None and len(value) > max_len:
        raise ApiError(
            400,
            f"Invalid '{name}': string too long. Expected a string with maximum length {max_len}, "
            f"but got a string with length {len(value)} instead.",
            param=name,
            code="string_above_max_length",
        )
    return value


def opt_number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(name, "a number")
    if not low <= value <= high:
        raise invalid_value(name, f"expected a number between {low} and {high}, got {value}.")
    return value


def check_list(value: Any, name: str, max_len: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise invalid_type(name, "an array")
    if max_len is not None and len(value) > max_len:
        raise ApiError(
            400,
            f"Invalid '{name}': array too long. Expected an array with maximum length {max_len}, "
            f"but got an array with length {len(value)} instead.",
            param=name,
            code="array_above_max_length",
        )
    return value


def metadata(body: dict[str, Any], name: str = "metadata") -> dict[str, str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_type(name, "an object")
    if len(value) > 16:
        raise ApiError(
            400,
            f"Invalid '{name}': too many properties. Expected an object with at most 16 properties, "
            f"but got an object with {len(value)} properties instead.",
            param=name,
            code="object_above_max_properties",
        )
    for key, item in value.items():
        if len(key) > 64:
            raise invalid_value(f"{name}", f"key '{key[:20]}...' is longer than 64 characters.")
        if not isinstance(item, str):
            raise invalid_type(f"{name}.{key}", "a string")
        if len(item) > 512:
            raise invalid_value(f"{name}.{key}", "values are limited to 512 characters.")
    return value


def paging(ctx: Ctx, *, default_order: str = "desc", max_limit: int = 100, default_limit: int = 20) -> dict[str, Any]:
    q = ctx.query
    raw = q.get("limit")
    try:
        limit = int(raw) if raw is not None else default_limit
    except ValueError:
        raise invalid_type("limit", "an integer") from None
    if not 1 <= limit <= max_limit:
        raise ApiError(
            400,
            f"Invalid 'limit': integer {'below minimum' if limit < 1 else 'above maximum'} value. "
            f"Expected a value {'>= 1' if limit < 1 else f'<= {max_limit}'}, but got {limit} instead.",
            param="limit",
            code="integer_below_min_value" if limit < 1 else "integer_above_max_value",
        )
    order = q.get("order") or default_order
    if order not in ("asc", "desc"):
        raise invalid_value("order", f"'{order}'. Supported values are: 'asc' and 'desc'.")
    return {"limit": limit, "order": order, "after": q.get("after") or None, "before": q.get("before") or None}


def list_body(rows: list[dict[str, Any]], has_more: bool, *, ids: bool = True) -> dict[str, Any]:
    data = [public(r) for r in rows]
    body: dict[str, Any] = {"object": "list", "data": data}
    if ids:
        body["first_id"] = data[0]["id"] if data else ""
        body["last_id"] = data[-1]["id"] if data else ""
    body["has_more"] = has_more
    return body


def get_or_404(ctx: Ctx, kind: str, object_id: str, label: str, parent: str | None = None) -> dict[str, Any]:
    found = ctx.store.get(kind, object_id, parent)
    if found is None:
        raise ApiError(404, f"No {label} found with id '{object_id}'.", code=None)
    return found


def deleted(object_id: str, obj: str) -> dict[str, Any]:
    return {"id": object_id, "object": obj, "deleted": True}
