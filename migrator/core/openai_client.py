"""All OpenAI traffic goes through here: one place builds SDK clients and turns SDK errors into messages.

Messages never contain the API key: the SDK does not echo it, and ``describe_error`` redacts anything that
looks like one just in case a proxy reflects it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import openai
from django.conf import settings

if TYPE_CHECKING:
    from migrator.core.models import Connection

# No part of a key is ever shown: not a prefix, not OpenAI's masked "sk-ab****1234" (its last four characters
# narrow a key down), not whatever a server echoes after "API key provided:".
_KEY_PATTERN = re.compile(r"\b(?:sk|rk|sess)-[A-Za-z0-9_\-]{4,}")
_MASKED_PATTERN = re.compile(r"[A-Za-z0-9_\-]*\*{3,}[A-Za-z0-9_\-]*")
_PROVIDED_PATTERN = re.compile(r"(API key provided:?\s*)[^\s.,;]+", re.IGNORECASE)
HIDDEN = "[key hidden]"


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
        # The SDK's own Timeout type: openai 3.x is built on httpx2, which refuses httpx's Timeout (issue 19).
        timeout=openai.Timeout(float(timeout or settings.OPENAI_TIMEOUT_SECONDS), connect=5.0),
        # Connect only to addresses the outbound policy allows, checked on the address connected to.
        http_client=openai.DefaultHttpxClient(transport=_guarded_transport()),
    )


def _guarded_transport():
    import httpx2

    from migrator.core.outbound import guard_transport

    return guard_transport(httpx2.HTTPTransport())


def redact(text: str, *secrets: str) -> str:
    """``text`` without any API key in it (and without the given ``secrets``, when known)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, HIDDEN)
    text = _PROVIDED_PATTERN.sub(lambda m: m.group(1) + HIDDEN, text)
    text = _MASKED_PATTERN.sub(HIDDEN, text)
    return _KEY_PATTERN.sub(HIDDEN, text)


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


# --- the Batch API (bulk validation): upload a JSONL of requests, create, poll, read the result files ----------

BATCH_ENDPOINT = "/v1/responses"
BATCH_FINAL = ("completed", "failed", "expired", "cancelled")


def start_batch(client: openai.OpenAI, requests: list[dict], *, metadata: dict[str, str] | None = None):
    """Upload ``requests`` (``{"custom_id", "body"}`` each, bodies for ``responses.create``) as a purpose=batch
    JSONL file and create a batch over it. Returns the Batch."""
    import io
    import json

    lines = [json.dumps({"custom_id": r["custom_id"], "method": "POST", "url": BATCH_ENDPOINT, "body": r["body"]},
                        ensure_ascii=False) for r in requests]
    upload = io.BytesIO(("\n".join(lines) + "\n").encode())
    upload.name = "migrator-batch.jsonl"
    file = client.files.create(file=upload, purpose="batch")
    return client.batches.create(input_file_id=file.id, endpoint=BATCH_ENDPOINT, completion_window="24h",
                                 metadata=metadata)


def get_batch(client: openai.OpenAI, batch_id: str):
    return client.batches.retrieve(batch_id)


def cancel_batch(client: openai.OpenAI, batch_id: str):
    return client.batches.cancel(batch_id)


def batch_lines(client: openai.OpenAI, file_id: str | None) -> list[dict]:
    """The JSON lines of a batch's output or error file (none when the batch has no such file)."""
    import json

    if not file_id:
        return []
    text = client.files.content(file_id).text
    return [json.loads(line) for line in text.splitlines() if line.strip()]
