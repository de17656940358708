"""Model shutdown dates and suggested successors, shipped with the project.

Source: the deprecation notes in the openai 3.51 SDK (types/shared/chat_model.py) and OpenAI's deprecations
page as summarised in the project's migration map (§10). A connection's ``/models`` endpoint, when it reports
``shutdown_date``, takes precedence (see migrator.inventory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

# (shutdown date, suggested successor, model ids)
_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("2024-09-13", "gpt-5.4-mini", ("gpt-3.5-turbo-16k", "gpt-3.5-turbo-0301", "gpt-3.5-turbo-0613", "gpt-3.5-turbo-16k-0613")),
    ("2024-12-06", "gpt-5.5", ("gpt-4-vision-preview",)),
    ("2025-06-06", "gpt-5.5", ("gpt-4-32k", "gpt-4-32k-0314", "gpt-4-32k-0613")),
    ("2025-07-28", "gpt-5.5", ("o1-preview", "o1-preview-2024-09-12")),
    ("2025-10-10", "gpt-audio-mini", ("gpt-4o-audio-preview-2024-10-01",)),
    ("2025-10-27", "gpt-5.4-mini", ("o1-mini", "o1-mini-2024-09-12")),
    ("2026-02-12", "gpt-5.5", ("codex-mini-latest",)),
    ("2026-02-17", "gpt-5.5", ("chatgpt-4o-latest",)),
    ("2026-03-26", "gpt-5.5", ("gpt-4-0125-preview", "gpt-4-turbo-preview", "gpt-4-0314")),
    ("2026-05-07", "gpt-audio-mini", ("gpt-4o-audio-preview", "gpt-4o-audio-preview-2024-12-17",
                                      "gpt-4o-audio-preview-2025-06-03", "gpt-4o-mini-audio-preview",
                                      "gpt-4o-mini-audio-preview-2024-12-17")),
    ("2026-07-23", "gpt-5.6-sol", ("gpt-5.1-codex", "gpt-5.1-chat-latest", "gpt-5-chat-latest",
                                   "gpt-4o-search-preview", "gpt-4o-mini-search-preview",
                                   "gpt-4o-search-preview-2025-03-11", "gpt-4o-mini-search-preview-2025-03-11",
                                   "o3-deep-research", "o3-deep-research-2025-06-26", "o4-mini-deep-research",
                                   "o4-mini-deep-research-2025-06-26", "computer-use-preview",
                                   "computer-use-preview-2025-03-11", "gpt-5-codex", "gpt-5.1-codex-max")),
    ("2026-08-10", "gpt-5.6-sol", ("gpt-5.3-chat-latest", "gpt-5.2-chat-latest")),
    ("2026-09-28", "gpt-5.4-mini", ("gpt-3.5-turbo-1106",)),
    ("2026-10-23", "gpt-5.6-sol", ("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", "o4-mini", "o4-mini-2025-04-16",
                                   "o3-mini", "o3-mini-2025-01-31", "o1", "o1-2024-12-17", "gpt-4o-2024-05-13",
                                   "gpt-4-turbo", "gpt-4-turbo-2024-04-09", "gpt-4-1106-preview", "gpt-4",
                                   "gpt-4-0613", "gpt-3.5-turbo", "gpt-3.5-turbo-0125", "o1-pro",
                                   "o1-pro-2025-03-19")),
    ("2026-12-11", "gpt-5.6-sol", ("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-2025-08-07", "gpt-5-mini-2025-08-07",
                                   "gpt-5-nano-2025-08-07", "o3", "o3-2025-04-16", "o3-pro", "o3-pro-2025-06-10",
                                   "gpt-5-pro", "gpt-5-pro-2025-10-06")),
    ("2027-01-14", "gpt-6-luna", ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14",
                                  "gpt-4o", "gpt-4o-2024-11-20", "gpt-4o-2024-08-06", "gpt-4o-mini",
                                  "gpt-4o-mini-2024-07-18")),
    ("2027-01-20", "gpt-audio", ("gpt-audio-mini", "gpt-audio-mini-2025-12-15")),
    ("2027-04-01", "gpt-5.5", ("gpt-5.4-nano", "gpt-5.4-nano-2026-03-17", "gpt-5.1", "gpt-5.1-2025-11-13")),
]

# Smaller, cheaper models get a smaller successor; the table above gives the default for each group.
_SIZE_SUCCESSORS = {"mini": "gpt-5.4-mini", "nano": "gpt-5.4-mini", "3.5": "gpt-5.4-mini"}

CURRENT_MODELS = (
    "gpt-6-astra", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-sol", "gpt-6-luna", "gpt-5.6-sol", "gpt-5.6-terra",
    "gpt-5.6-luna", "gpt-5.5", "gpt-5.5-2026-04-23", "gpt-5.4", "gpt-5.4-mini", "gpt-5.2", "gpt-5.2-pro",
)


@dataclass(frozen=True)
class ModelInfo:
    model: str
    shutdown_date: date | None
    successor: str | None
    known: bool

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


_TABLE: dict[str, tuple[date, str]] = {}
for _when, _successor, _ids in _GROUPS:
    for _model in _ids:
        _TABLE[_model] = (date.fromisoformat(_when), _successor)


def _successor_for(model: str, default: str) -> str:
    lowered = model.lower()
    for marker, successor in _SIZE_SUCCESSORS.items():
        if marker in lowered:
            return successor
    return default


def lookup(model: str) -> ModelInfo:
    """Shutdown date and successor for a model id from the shipped table (case-insensitive)."""
    key = (model or "").strip().lower()
    if key in _TABLE:
        when, successor = _TABLE[key]
        return ModelInfo(model=model, shutdown_date=when, successor=_successor_for(key, successor), known=True)
    if key in CURRENT_MODELS:
        return ModelInfo(model=model, shutdown_date=None, successor=None, known=True)
    return ModelInfo(model=model, shutdown_date=None, successor=None, known=False)


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


def all_shutdowns() -> dict[str, date]:
    return {model: when for model, (when, _) in _TABLE.items()}


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


# Apps that know better (the inventory reads /models of each connection) register a resolver; core pages
# ask through resolve_many() so they never import those apps.
_resolver: Callable[[Iterable[str]], Mapping[str, ModelInfo]] | None = None


def register_resolver(resolver: Callable[[Iterable[str]], Mapping[str, ModelInfo]]) -> None:
    global _resolver
    _resolver = resolver


def resolve_many(models: Iterable[str]) -> dict[str, ModelInfo]:
    """ModelInfo for each model id, from the registered resolver or else the shipped table."""
    wanted = [m for m in dict.fromkeys(models) if m is not None]
    if _resolver is not None:
        found = dict(_resolver(wanted))
        return {m: found.get(m) or lookup(m) for m in wanted}
    return {m: lookup(m) for m in wanted}
