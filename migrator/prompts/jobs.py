"""Background jobs of the prompts app (autodiscovered by migrator.core.jobs)."""

from __future__ import annotations

import time
from typing import Any

import openai

from migrator.core.jobs import job_handler
from migrator.core.models import Connection
from migrator.core.openai_client import client_for, describe_error
from migrator.core.services import ServiceError
from migrator.prompts.models import PromptVersion


@job_handler("prompts.try_version", label="Try a prompt version")
def try_version(ctx) -> dict[str, Any]:
    """Send one responses.create with a stored version and a sample input; record output, usage and latency."""
    version = PromptVersion.objects.select_related("assistant").filter(pk=ctx.params.get("version_id")).first()
    if version is None:
        raise ServiceError("The prompt version no longer exists.")
    connection = Connection.objects.filter(pk=ctx.params.get("connection_id")).first()
    if connection is None:
        raise ServiceError("The connection no longer exists.")
    ctx.progress(0, 1, f"Sending v{version.number} to {connection.name}")
    ctx.produced(version, f"v{version.number} of {version.assistant.display_name}")
    ctx.log(f"responses.create with v{version.number} of {version.assistant.display_name} on {connection.name} "
            f"(model {version.config.get('model')})")
    client = client_for(connection, max_retries=0)
    started = time.monotonic()
    try:
        response = client.responses.create(**version.config, input=ctx.params["input"])
    except openai.OpenAIError as exc:
        raise ServiceError(describe_error(exc, where="responses.create")) from None
    latency_ms = round((time.monotonic() - started) * 1000)
    usage = response.usage.model_dump(mode="json") if response.usage else {}
    output = [item.model_dump(mode="json", exclude_none=True) for item in response.output]
    ctx.log(f"{response.status} in {latency_ms} ms; {usage.get('total_tokens', '?')} tokens")
    ctx.progress(1, 1, "Done")
    return {
        "version_id": version.pk,
        "version": version.number,
        "assistant_id": version.assistant_id,
        "connection": connection.name,
        "input": ctx.params["input"],
        "response_id": response.id,
        "status": response.status,
        "model": response.model,
        "output_text": response.output_text,
        "output": output,
        "usage": usage,
        "latency_ms": latency_ms,
    }
