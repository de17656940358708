"""Test data for the flows app: demo assistants read from the sandbox, prompt versions, legacy threads."""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from migrator.core.actors import SYSTEM
from migrator.core.models import Assistant, Connection
from tests.factories import AssistantFactory, FlowFactory  # noqa: F401 - re-exported


def sandbox_connection(sandbox, name: str = "Test sandbox") -> Connection:
    connection = Connection(name=name, base_url=sandbox.base_url, is_sandbox=True)
    connection.set_api_key(sandbox.api_key)
    connection.save()
    return connection


def assistant_from_sandbox(sandbox, key: str) -> Assistant:
    """A demo assistant exactly as the (sandbox) Assistants API returns it."""
    from migrator.sandbox.seed import asst_id

    with warnings.catch_warnings():  # the SDK marks the Assistants API deprecated; reading it is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        obj = sandbox.client().beta.assistants.retrieve(asst_id(key)).model_dump()
    assistant, _ = Assistant.objects.update_or_create(
        legacy_id=obj["id"],
        defaults={
            "name": obj.get("name") or "",
            "model": obj.get("model") or "",
            "instructions": obj.get("instructions") or "",
            "tools": obj.get("tools") or [],
            "tool_resources": obj.get("tool_resources") or {},
            "response_format": obj.get("response_format"),
            "metadata": obj.get("metadata") or {},
            "raw": obj,
        },
    )
    return assistant


def generated_version(assistant: Assistant):
    from migrator.prompts.services import generate_version

    return generate_version(assistant_id=assistant.pk, actor=SYSTEM)


def make_version(assistant: Assistant, config: dict[str, Any], *, approved: bool = False, draft: bool = True):
    """A prompt version with exactly ``config`` (and the draft label, so the tools page opens on it)."""
    from migrator.prompts.models import LabelName, PromptLabel, PromptVersion

    number = (PromptVersion.objects.filter(assistant=assistant).aggregate(n=Max("number"))["n"] or 0) + 1
    version = PromptVersion.objects.create(
        assistant=assistant, number=number, config=config, is_generated=True,
        approved_at=timezone.now() if approved else None,
    )
    labels = ([LabelName.DRAFT] if draft else []) + ([LabelName.APPROVED] if approved else [])
    for label in labels:
        PromptLabel.objects.update_or_create(assistant=assistant, name=label, defaults={"version": version})
    return version


def make_threads(assistant: Assistant, specs: list[tuple[int, int, float]], *, flow_slug: str = "") -> list:
    """``specs``: (user_turns, approx_tokens, days the thread stayed active) per thread."""
    from migrator.inventory.models import LegacyThread

    start = timezone.now() - timedelta(days=400)
    rows = []
    for i, (turns, tokens, days) in enumerate(specs):
        rows.append(LegacyThread(
            assistant=assistant, legacy_id=f"thread_{assistant.pk}_{flow_slug or 'x'}_{i}", flow_slug=flow_slug,
            user_turns=turns, assistant_turns=turns, message_count=2 * turns, approx_tokens=tokens,
            created_at_legacy=start, last_message_at=start + timedelta(days=days),
        ))
    return LegacyThread.objects.bulk_create(rows)
