"""Model catalogue (ids, owners, shutdown dates) and id generation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# Shutdown dates from the deprecations listed in the SDK (see the migration map, section 10).
SHUTDOWNS: dict[str, tuple[str, ...]] = {
    "2024-09-13": ("gpt-3.5-turbo-16k", "gpt-3.5-turbo-0301", "gpt-3.5-turbo-0613", "gpt-3.5-turbo-16k-0613"),
    "2024-12-06": ("gpt-4-vision-preview",),
    "2025-06-06": ("gpt-4-32k", "gpt-4-32k-0314", "gpt-4-32k-0613"),
    "2025-07-28": ("o1-preview", "o1-preview-2024-09-12"),
    "2025-10-27": ("o1-mini", "o1-mini-2024-09-12"),
    "2026-02-17": ("chatgpt-4o-latest",),
    "2026-03-26": ("gpt-4-0125-preview", "gpt-4-turbo-preview", "gpt-4-0314"),
    "2026-07-23": ("gpt-5.1-codex", "gpt-5.1-chat-latest", "gpt-5-chat-latest", "gpt-5-codex"),
    "2026-08-10": ("gpt-5.3-chat-latest", "gpt-5.2-chat-latest"),
    "2026-09-28": ("gpt-3.5-turbo-1106",),
    "2026-10-23": (
        "gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", "o4-mini", "o4-mini-2025-04-16", "o3-mini", "o3-mini-2025-01-31",
        "o1", "o1-2024-12-17", "gpt-4o-2024-05-13", "gpt-4-turbo", "gpt-4-turbo-2024-04-09", "gpt-4-1106-preview",
        "gpt-4", "gpt-4-0613", "gpt-3.5-turbo", "gpt-3.5-turbo-0125",
    ),
    "2026-12-11": ("gpt-5", "gpt-5-2025-08-07", "gpt-5-mini", "gpt-5-mini-2025-08-07", "gpt-5-nano", "o3", "o3-2025-04-16"),
    "2027-01-14": (
        "gpt-4.1", "gpt-4.1-2025-04-14", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", "gpt-4o", "gpt-4o-2024-11-20",
        "gpt-4o-2024-08-06", "gpt-4o-mini", "gpt-4o-mini-2024-07-18",
    ),
    "2027-04-01": ("gpt-5.4-nano", "gpt-5.4-nano-2026-03-17", "gpt-5.1", "gpt-5.1-2025-11-13"),
}
CURRENT = (
    "gpt-6-astra", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-sol", "gpt-6-luna", "gpt-5.6-sol", "gpt-5.6-terra",
    "gpt-5.6-luna", "gpt-5.5", "gpt-5.5-2026-04-23", "gpt-5.4", "gpt-5.4-mini", "gpt-5.2", "gpt-5.2-pro",
)
# Embedding models as /v1/models lists them (created dates and owners as the API shows them).
EMBEDDING_MODELS: dict[str, tuple[int, str]] = {
    "text-embedding-3-small": (1_705_948_997, "system"),
    "text-embedding-3-large": (1_705_953_180, "system"),
    "text-embedding-ada-002": (1_671_217_299, "openai-internal"),
}
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "gpt-6")
CONTEXT_WINDOW = 128_000


def model_list() -> list[dict[str, object]]:
    models: list[dict[str, object]] = []
    created = 1_700_000_000
    for date, ids in SHUTDOWNS.items():
        for model_id in ids:
            models.append(_model(model_id, created, date))
            created += 86_400
    for model_id in CURRENT:
        models.append(_model(model_id, created, None))
        created += 86_400
    for model_id, (made, owner) in EMBEDDING_MODELS.items():
        models.append({"id": model_id, "object": "model", "created": made, "owned_by": owner, "shutdown_date": None})
    return models


def _model(model_id: str, created: int, shutdown: str | None) -> dict[str, object]:
    owner = "openai" if not model_id.startswith("gpt-3.5") else "openai-internal"
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner, "shutdown_date": shutdown}


MODELS: dict[str, dict[str, object]] = {m["id"]: m for m in model_list()}  # type: ignore[misc]


def shutdown_date(model_id: str) -> str | None:
    model = MODELS.get(model_id)
    return model["shutdown_date"] if model else None  # type: ignore[return-value]


def is_retired(model_id: str, today: dt.date | None = None) -> bool:
    date = shutdown_date(model_id)
    return bool(date) and dt.date.fromisoformat(date) <= (today or dt.date.today())  # type: ignore[arg-type]


def is_embedding(model_id: str) -> bool:
    return model_id in EMBEDDING_MODELS


def is_reasoning(model_id: str) -> bool:
    return model_id.startswith(REASONING_PREFIXES) and "chat" not in model_id


def new_id(prefix: str, length: int = 24) -> str:
    """A random id such as ``resp_…``; ``file-`` ids keep OpenAI's dash."""
    return prefix + secrets.token_hex((length + 1) // 2)[:length]


def stable_id(prefix: str, key: str, length: int = 24) -> str:
    """A deterministic id: the same ``key`` gives the same id on every machine (demo seed)."""
    digest = hashlib.sha256(f"{prefix}|{key}".encode()).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        n, r = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[r])
    return prefix + "".join(chars)
