"""Testing a connection: which APIs answer (models, assistants, responses, conversations), and the model list
with shutdown dates the connection reports."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from typing import Any

import openai
from django.db import transaction
from django.utils import timezone

from migrator.core.actors import require
from migrator.core.models import Connection
from migrator.core.openai_client import client_for, describe_error
from migrator.core.services import audit
from migrator.core.services.connection_access import require_use
from migrator.inventory.models import ReportedModel
from migrator.inventory.services.live import SHUTDOWN_NOTE

# Ids that cannot exist: a 404 "not found" proves the endpoint is there; "Invalid URL" proves it is not.
PROBE_RESPONSE = "resp_migrator_probe_0000000000"
PROBE_CONVERSATION = "conv_migrator_probe_0000000000"


def _shutdown(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC).date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def refresh_models(*, connection: Connection, client: openai.OpenAI | None = None) -> int:
    """Store the connection's ``/models`` list (with ``shutdown_date`` when given). Raises SDK errors."""
    client = client or client_for(connection, max_retries=1, timeout=30)
    now = timezone.now()
    rows = []
    for model in client.models.list():
        # ``shutdown_date`` is typed on Model in openai 3.51; older SDKs keep unknown fields in model_extra.
        shutdown = getattr(model, "shutdown_date", None)
        if shutdown is None and model.model_extra:
            shutdown = model.model_extra.get("shutdown_date")
        rows.append(ReportedModel(connection=connection, model_id=model.id[:128], shutdown_date=_shutdown(shutdown),
                                  owned_by=(getattr(model, "owned_by", "") or "")[:128],
                                  raw=model.to_dict(mode="json"), seen_at=now))
    with transaction.atomic():
        ReportedModel.objects.filter(connection=connection).delete()
        ReportedModel.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _probe(call) -> tuple[bool, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            call()
    except openai.NotFoundError as exc:
        if "invalid url" in str(exc).lower():
            return False, describe_error(exc)
        return True, "answers (a probe for an object that does not exist got a plain 404)"
    except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
        return True, f"answers ({describe_error(exc)})"
    except openai.APIStatusError as exc:
        return False, describe_error(exc)
    except openai.APIError as exc:
        return False, describe_error(exc)
    return True, "answers"


def test_connection(*, connection: Connection, actor) -> dict[str, Any]:
    """Probe each API, store ``Connection.answers`` and the model list, and return the details."""
    require(actor, "core.change_connection", action="test connections")
    require_use(actor, connection, "test")
    client = client_for(connection, max_retries=1, timeout=30)
    results: dict[str, dict[str, Any]] = {}
    model_count = 0
    try:
        model_count = refresh_models(connection=connection, client=client)
        results["models"] = {"ok": True, "detail": f"answers; {model_count} models listed"}
    except openai.APIError as exc:
        results["models"] = {"ok": False, "detail": describe_error(exc)}
    ok, detail = _probe(lambda: client.beta.assistants.list(limit=1))
    if not ok and ("invalid url" in detail.lower() or "HTTP 410" in detail):
        detail = (f"gone: {detail} {SHUTDOWN_NOTE}. Import an export archive instead (Import page, or "
                  "`manage.py import_assistants --archive FILE`).")
    results["assistants"] = {"ok": ok, "detail": detail}
    ok, detail = _probe(lambda: client.responses.retrieve(PROBE_RESPONSE))
    results["responses"] = {"ok": ok, "detail": detail}
    ok, detail = _probe(lambda: client.conversations.retrieve(PROBE_CONVERSATION))
    results["conversations"] = {"ok": ok, "detail": detail}

    answers = {api: bool(r["ok"]) for api, r in results.items()}
    failing = [f"{api}: {r['detail']}" for api, r in results.items() if not r["ok"]]
    before = dict(connection.answers)
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(
            answers=answers, last_tested_at=timezone.now(), last_test_error="\n".join(failing)[:5000]
        )
        audit.record(actor=actor, verb="migrator.connection.tested", obj=connection, before=before, after=answers)
    connection.refresh_from_db()
    return {"connection": connection.name, "answers": answers, "details": results, "models": model_count,
            "assistants_api_gone": answers["assistants"] is False}


def mark_assistants_gone(*, connection: Connection, detail: str) -> None:
    """A live import found no Assistants API: remember it, as a test would."""
    answers = dict(connection.answers)
    answers["assistants"] = False
    Connection.objects.filter(pk=connection.pk).update(answers=answers, last_test_error=detail[:5000])
    connection.answers = answers
