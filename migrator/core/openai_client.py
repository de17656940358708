"""All OpenAI traffic goes through here: one place builds SDK clients and turns SDK errors into messages.

Messages never contain the API key: the SDK does not echo it, and ``describe_error`` redacts anything that
looks like one just in case a proxy reflects it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import openai
from django.conf import settings

if TYPE_CHECKING:
    from migrator.core.models import Connection

_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]+")


def client_for(connection: Connection, *, max_retries: int | None = None, timeout: float | None = None) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for a stored connection."""
    return make_client(
        base_url=connection.base_url,
        api_key=connection.get_api_key() or "no-key",
        organization=connection.organization or None,
        project=connection.project or None,
        max_retries=max_retries,
        timeout=timeout,
    )


def make_client(
    *,
    base_url: str,
    api_key: str,
    organization: str | None = None,
    project: str | None = None,
    max_retries: int | None = None,
    timeout: float | None = None,
) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url.rstrip("/"),
        api_key=api_key,
        organization=organization,
        project=project,
        max_retries=settings.OPENAI_MAX_RETRIES if max_retries is None else max_retries,
        timeout=httpx.Timeout(float(timeout or settings.OPENAI_TIMEOUT_SECONDS), connect=5.0),
    )


def redact(text: str) -> str:
    return _KEY_PATTERN.sub(r"\1…", text)


def describe_error(exc: BaseException, *, where: str = "") -> str:
    """A readable one-line description of an SDK error, safe to store and show."""
    prefix = f"{where}: " if where else ""
    if isinstance(exc, openai.APIStatusError):
        message = ""
        body = exc.body
        if isinstance(body, dict):
            error = body.get("error") if isinstance(body.get("error"), dict) else body
            message = str(error.get("message") or "")
        message = message or exc.message
        hint = {
            401: " Check the API key.",
            403: " The key lacks access to this resource.",
            404: " The endpoint or object does not exist here.",
            429: " Rate limited; try again later or lower the request rate.",
        }.get(exc.status_code, "")
        return redact(f"{prefix}HTTP {exc.status_code}: {message}.{hint}".replace("..", "."))
    if isinstance(exc, openai.APITimeoutError):
        return f"{prefix}the API did not answer in time."
    if isinstance(exc, openai.APIConnectionError):
        return f"{prefix}could not connect to the API ({redact(str(exc.__cause__ or exc))})."
    return redact(f"{prefix}{type(exc).__name__}: {exc}")
