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
from migrator.core.services import ServiceError, audit
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


def _unreachable(exc: BaseException) -> bool:
    """No answer about the API at all: the server is down, unreachable, timing out or failing (5xx). Such a
    probe says nothing about whether an API exists, so it must never be recorded as "does not answer"."""
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError is one too
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500 and exc.status_code != 501


class _KeyRefused(Exception):
    """The server refused the key (401): that says nothing about which APIs it has."""


def _probe(call, *, plain_404_proves: bool = True) -> tuple[bool | None, str]:
    """(True: answers, False: answered that it is not there or refused, None: could not reach it, detail).
    ``plain_404_proves`` is False for a server that answers 404 even for a path no API has."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            call()
    except openai.AuthenticationError as exc:
        raise _KeyRefused(describe_error(exc)) from exc
    except openai.NotFoundError as exc:
        if "invalid url" in str(exc).lower():
            return False, describe_error(exc)
        if not plain_404_proves:
            return False, ("does not answer: this server answers 404 to every path, even one no API has, so a "
                           "404 proves nothing here")
        return True, "answers (a probe for an object that does not exist got a plain 404)"
    except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
        return True, f"answers ({describe_error(exc)})"
    except openai.APIError as exc:
        return (None if _unreachable(exc) else False), describe_error(exc)
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
        results["models"] = {"ok": None if _unreachable(exc) else False, "detail": describe_error(exc),
                             "key_refused": isinstance(exc, openai.AuthenticationError)}
    try:
        return _probe_apis(connection=connection, actor=actor, client=client, results=results,
                           model_count=model_count)
    except _KeyRefused as exc:
        message = (f"{connection.name} refused the API key ({exc}). Check the key on the connection; nothing "
                   "about its APIs was recorded (a refused key says nothing about which APIs the server has).")
        with transaction.atomic():
            Connection.objects.filter(pk=connection.pk).update(last_test_error=message[:5000])
            audit.record(actor=actor, verb="migrator.connection.test_failed", obj=connection,
                         data={"unauthorized": True})
        raise ServiceError(message) from None


def _plain_404_proves(client: openai.OpenAI) -> bool:
    """False when the server answers a plain 404 even for a path no API has (then a 404 proves nothing)."""
    try:
        client.get("/migrator-probe-no-such-api", cast_to=object)
    except openai.NotFoundError as exc:
        return "invalid url" in str(exc).lower()
    except openai.APIError:
        return True
    return False  # it answered 2xx for a path that cannot exist: its answers prove nothing either


def _probe_apis(*, connection: Connection, actor, client: openai.OpenAI, results: dict[str, dict[str, Any]],
                model_count: int) -> dict[str, Any]:
    if results["models"].pop("key_refused", False):
        raise _KeyRefused(results["models"]["detail"])
    proves = _plain_404_proves(client)
    ok, detail = _probe(lambda: client.beta.assistants.list(limit=1), plain_404_proves=proves)
    if ok is False and ("invalid url" in detail.lower() or "HTTP 410" in detail):
        detail = (f"gone: {detail} {SHUTDOWN_NOTE}. Import an export archive instead (Import page, or "
                  "`manage.py import_assistants --archive FILE`).")
    results["assistants"] = {"ok": ok, "detail": detail}
    ok, detail = _probe(lambda: client.responses.retrieve(PROBE_RESPONSE), plain_404_proves=proves)
    results["responses"] = {"ok": ok, "detail": detail}
    ok, detail = _probe(lambda: client.conversations.retrieve(PROBE_CONVERSATION), plain_404_proves=proves)
    results["conversations"] = {"ok": ok, "detail": detail}

    unreached = [api for api, r in results.items() if r["ok"] is None]
    if unreached:
        return _unreachable_result(connection=connection, actor=actor, results=results, unreached=unreached)
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


def _unreachable_result(*, connection: Connection, actor, results: dict[str, dict[str, Any]],
                        unreached: list[str]) -> dict[str, Any]:
    """An outage during the test: keep what earlier tests learnt (``answers`` untouched, so an API is never
    recorded as shut down because the server did not answer), note the failure, and fail the test."""
    detail = "; ".join(f"{api}: {results[api]['detail']}" for api in unreached)
    message = (f"The test could not reach {connection.name} ({detail}). Nothing about its APIs was recorded; "
               "test again once it answers.")
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(last_test_error=message[:5000])
        audit.record(actor=actor, verb="migrator.connection.test_failed", obj=connection,
                     data={"unreachable": unreached})
    raise ServiceError(message)


def mark_assistants_gone(*, connection: Connection, detail: str) -> None:
    """A live import found no Assistants API: remember it, as a test would."""
    answers = dict(connection.answers)
    answers["assistants"] = False
    Connection.objects.filter(pk=connection.pk).update(answers=answers, last_test_error=detail[:5000])
    connection.answers = answers
