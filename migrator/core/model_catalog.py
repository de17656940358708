"""The one model catalogue: shutdown dates and named successors, as every part of migrator sees them.

Two sources merge here. The catalogue file shipped with migrator (``model_catalogue.json`` beside this module, or
the file ``MODEL_CATALOGUE_FILE`` names) says what the API does not: each group's shutdown date and the
successor OpenAI (or migrator's size rule) names, with the source and the date it was seen. Each live
connection's ``GET /v1/models`` gives ``shutdown_date``; the inventory app stores those lists and registers a
resolver that merges them in, taking the earliest date any source gives. Nothing else in migrator names a
successor: ask :func:`lookup` / :func:`resolve_many`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SHIPPED_FILE = Path(__file__).with_name("model_catalogue.json")


@dataclass(frozen=True)
class ModelInfo:
    model: str
    shutdown_date: date | None
    successor: str | None
    known: bool
    # Where the shutdown date came from: "catalogue" (the shipped file), "connection:<name>" or "unknown".
    source: str = "catalogue"
    successor_source: str = ""
    successor_seen: date | None = None

    @property
    def source_label(self) -> str:
        if self.source.startswith("connection:"):
            return f"/models of {self.source.split(':', 1)[1]}"
        return "catalogue file" if self.source == "catalogue" else "not known"

    def is_retired(self, today: date | None = None) -> bool:
        return self.shutdown_date is not None and self.shutdown_date <= (today or date.today())

    def days_left(self, today: date | None = None) -> int | None:
        if self.shutdown_date is None:
            return None
        return (self.shutdown_date - (today or date.today())).days

    def state(self, today: date | None = None, *, warn_days: int = 180) -> str:
        """'retired', 'retiring' (within warn_days), 'current' or 'unknown'."""
        if not self.known:
            return "unknown"
        days = self.days_left(today)
        if days is None:
            return "current"
        if days <= 0:
            return "retired"
        return "retiring" if days <= warn_days else "current"


class CatalogueFileError(ValueError):
    """The catalogue file is missing or malformed; the message says which entry and why."""


@dataclass(frozen=True)
class Shipped:
    """What the catalogue file says about the models it lists."""

    path: str
    updated: str
    entries: dict[str, ModelInfo]  # lower-cased model id -> info (source "catalogue")


_cache: dict[tuple[str, float], Shipped] = {}
_cache_lock = threading.Lock()


def catalogue_path() -> Path:
    try:
        from django.conf import settings

        configured = getattr(settings, "MODEL_CATALOGUE_FILE", "") or ""
    except Exception:  # settings not configured (a bare script): the shipped file
        configured = ""
    return Path(configured) if configured else SHIPPED_FILE


def _parse(path: Path, text: str) -> Shipped:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise CatalogueFileError(f"{path}: expected an object with a 'groups' list.")
    entries: dict[str, ModelInfo] = {}
    for i, group in enumerate(doc["groups"]):
        where = f"{path}: groups[{i}]"
        try:
            when = date.fromisoformat(str(group["shutdown_date"])) if group.get("shutdown_date") else None
            successor = group.get("successor") or {}
            seen = date.fromisoformat(str(successor["seen"])) if successor.get("seen") else None
            models = group["models"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CatalogueFileError(f"{where}: {exc!r} (each group needs shutdown_date YYYY-MM-DD, models, and "
                                     "successor {model, source, seen YYYY-MM-DD}).") from None
        if successor.get("model") and not (successor.get("source") and seen):
            raise CatalogueFileError(f"{where}: successor {successor.get('model')!r} needs its source and the "
                                     "date it was seen.")
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise CatalogueFileError(f"{where}: models must be a list of model ids.")
        for model in models:
            entries[model.strip().lower()] = ModelInfo(
                model=model, shutdown_date=when, successor=successor.get("model") or None, known=True,
                source="catalogue", successor_source=str(successor.get("source") or ""), successor_seen=seen)
    for model in doc.get("current") or []:
        entries.setdefault(str(model).strip().lower(), ModelInfo(model=str(model), shutdown_date=None,
                                                                 successor=None, known=True))
    return Shipped(path=str(path), updated=str(doc.get("updated") or ""), entries=entries)


def shipped() -> Shipped:
    """The catalogue file, parsed once per path and modification time (an edited file is read again)."""
    path = catalogue_path()
    try:
        stamp = path.stat().st_mtime
    except OSError:
        raise CatalogueFileError(f"The model catalogue file {path} does not exist (MODEL_CATALOGUE_FILE).") from None
    key = (str(path), stamp)
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            _cache.clear()
            found = _cache[key] = _parse(path, path.read_text(encoding="utf-8"))
    return found


def shipped_lookup(model: str) -> ModelInfo:
    """What the catalogue file alone says about ``model`` (case-insensitive)."""
    key = (model or "").strip().lower()
    found = shipped().entries.get(key)
    if found is None:
        return ModelInfo(model=model, shutdown_date=None, successor=None, known=False, source="unknown")
    return ModelInfo(model=model, shutdown_date=found.shutdown_date, successor=found.successor, known=True,
                     source=found.source, successor_source=found.successor_source,
                     successor_seen=found.successor_seen)


def lookup(model: str) -> ModelInfo:
    """Shutdown date (earliest any source gives) and named successor of one model id."""
    return resolve_many([model])[model]


# Reasoning models (o-series, gpt-5 and later) refuse the sampling knobs of chat models: the API answers 400
# ``unsupported_parameter`` for temperature/top_p other than the default 1, and refuses ``reasoning`` on a
# model that does not reason. The bundled sandbox enforces the same rule (migrator/sandbox/catalog.py keeps
# its own copy because it never imports domain code; tests/prompts/test_first_call.py keeps them in step).
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "gpt-6")
SAMPLING_PARAMS = ("temperature", "top_p")
# Accepted by every reasoning model (none/minimal/xhigh/max are not): the effort a converted configuration
# gets when sampling parameters had to go.
DEFAULT_REASONING_EFFORT = "low"


def is_reasoning(model: str) -> bool:
    """True for models that reason (and so refuse temperature/top_p); the "chat" aliases do not."""
    key = (model or "").strip().lower()
    return key.startswith(REASONING_PREFIXES) and "chat" not in key


@dataclass(frozen=True)
class ParameterProblem:
    param: str  # "temperature", "reasoning.effort", …
    pointer: str  # JSON pointer into the configuration
    message: str


def parameter_problems(config: Mapping[str, object]) -> list[ParameterProblem]:
    """Model/parameter combinations the Responses API answers with a 400, for a stored configuration."""
    model = config.get("model")
    if not isinstance(model, str) or not model:
        return []
    problems: list[ParameterProblem] = []
    if is_reasoning(model):
        for name in SAMPLING_PARAMS:
            value = config.get(name)
            if value is not None and value != 1:
                problems.append(ParameterProblem(name, f"/{name}", (
                    f"{model} is a reasoning model and refuses {name} (the API answers 400 unsupported_parameter). "
                    f"Remove it and steer the model with reasoning.effort instead.")))
        return problems
    reasoning = config.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, Mapping) else None
    if effort is not None and lookup(model).known:
        problems.append(ParameterProblem("reasoning.effort", "/reasoning/effort", (
            f"{model} is not a reasoning model and refuses reasoning.effort (the API answers 400 "
            f"unsupported_parameter). Remove it, or choose a reasoning model such as gpt-5.4-mini.")))
    return problems


@dataclass(frozen=True)
class Deadline:
    when: date
    title: str
    detail: str


PLATFORM_DEADLINES = (
    Deadline(date(2026, 8, 26), "Assistants API shut down", "Import from export archives; threads are read-only history."),
    Deadline(date(2026, 11, 30), "Reusable prompt objects shut down",
             "Approved configurations must be served from migrator, not pmpt_ ids."),
    Deadline(date(2026, 11, 30), "Evals API shuts down", "Validation runs locally against recorded transcripts."),
)


# The inventory app registers a resolver that merges each connection's /models list into the file (core pages ask
# through resolve_many() so they never import that app). Without it (a bare script): the file alone.
_resolver: Callable[[Iterable[str]], Mapping[str, ModelInfo]] | None = None
# Off inside file_only(): tools that convert files on disk (``manage.py convert_assistant``) work without a
# database, from the catalogue file alone.
_use_resolver: contextvars.ContextVar[bool] = contextvars.ContextVar("model_catalog_use_resolver", default=True)


@contextlib.contextmanager
def file_only() -> Iterator[None]:
    """Answer from the catalogue file alone (no database) inside this block."""
    token = _use_resolver.set(False)
    try:
        yield
    finally:
        _use_resolver.reset(token)


def register_resolver(resolver: Callable[[Iterable[str]], Mapping[str, ModelInfo]]) -> None:
    global _resolver
    _resolver = resolver


def resolve_many(models: Iterable[str]) -> dict[str, ModelInfo]:
    """ModelInfo for each model id, from the registered resolver or else the catalogue file."""
    wanted = [m for m in dict.fromkeys(models) if m is not None]
    if _resolver is not None and _use_resolver.get():
        found = dict(_resolver(wanted))
        return {m: found.get(m) or shipped_lookup(m) for m in wanted}
    return {m: shipped_lookup(m) for m in wanted}
