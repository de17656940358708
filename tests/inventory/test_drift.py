"""Drift: re-importing a changed assistant records a revision, flags it for review and tells the prompts app."""

from __future__ import annotations

import pytest

from migrator.core.models import Assistant, AuditEvent
from migrator.core.signals import assistant_definition_changed
from migrator.core.status import MigrationStatus
from migrator.inventory.models import AssistantRevision
from migrator.inventory.services import drift
from migrator.inventory.services.imports import import_archive
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    assistant_definition_changed.connect(receiver, dispatch_uid="test-drift-receiver")
    yield calls
    assistant_definition_changed.disconnect(dispatch_uid="test-drift-receiver")


def _import(tmp_path, actor, *objs, name="a.jsonl"):
    return import_archive(path=a.write_jsonl(tmp_path / name, list(objs)), actor=actor)


def test_changed_definition_records_revision_flags_review_and_signals(tmp_path, engineer, received):
    _import(tmp_path, engineer, a.assistant(1, instructions="Be brief.", tools=[]))
    first = Assistant.objects.get()
    Assistant.objects.filter(pk=first.pk).update(status=MigrationStatus.PROMPT_APPROVED)
    old_hash = first.definition_hash
    tools = [{"type": "code_interpreter"}]
    report = _import(tmp_path, engineer, a.assistant(1, instructions="Be thorough.", tools=tools, temperature=0.3),
                     name="b.jsonl")
    assert report.to_dict()["assistants"] == {"created": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    assert report.drifted == ["asst_0001"]
    assistant = Assistant.objects.get()
    assert assistant.needs_review and assistant.definition_hash != old_hash
    assert assistant.status == MigrationStatus.PROMPT_APPROVED  # the prompts app moves it, not the import
    revision = AssistantRevision.objects.get()
    assert revision.changed_fields == ["instructions", "tools", "temperature"]
    assert revision.before == {"instructions": "Be brief.", "tools": [], "temperature": 1.0}
    assert revision.after == {"instructions": "Be thorough.", "tools": tools, "temperature": 0.3}
    assert revision.source == "archive b.jsonl" and revision.actor == engineer
    (call,) = received
    assert call["assistant"].pk == assistant.pk and call["actor"] == engineer
    assert call["changed_fields"] == ["instructions", "tools", "temperature"]
    assert call["before"]["instructions"] == "Be brief." and call["after"]["instructions"] == "Be thorough."
    assert set(call["before"]) == set(drift.DEFINITION_FIELDS)
    event = AuditEvent.objects.get(verb="migrator.assistant.definition_drifted")
    assert event.data["changed_fields"] == revision.changed_fields


def test_label_changes_update_without_drift(tmp_path, engineer, received):
    _import(tmp_path, engineer, a.assistant(1))
    report = _import(tmp_path, engineer, a.assistant(1, name="Renamed", description="New words"), name="b.jsonl")
    assert report.to_dict()["assistants"]["updated"] == 1
    assistant = Assistant.objects.get()
    assert assistant.name == "Renamed" and not assistant.needs_review
    assert not AssistantRevision.objects.exists() and received == []


def test_every_definition_field_counts(tmp_path, engineer, received):
    _import(tmp_path, engineer, a.assistant(1))
    changes = {"model": "gpt-5.5", "tool_resources": {"code_interpreter": {"file_ids": ["file-1"]}},
               "response_format": {"type": "json_object"}, "top_p": 0.5, "reasoning_effort": "low",
               "metadata": {"team": "ops"}}
    _import(tmp_path, engineer, a.assistant(1, **changes), name="b.jsonl")
    assert AssistantRevision.objects.get().changed_fields == [
        "model", "tool_resources", "response_format", "top_p", "reasoning_effort", "metadata"]
    _import(tmp_path, engineer, a.assistant(1, **changes), name="c.jsonl")
    assert AssistantRevision.objects.count() == 1 and len(received) == 1  # unchanged the second time


def test_a_failing_receiver_does_not_undo_the_import(tmp_path, engineer):
    def broken(sender, **kwargs):
        raise RuntimeError("prompts app is down")

    assistant_definition_changed.connect(broken, dispatch_uid="test-broken-receiver")
    try:
        _import(tmp_path, engineer, a.assistant(1))
        report = _import(tmp_path, engineer, a.assistant(1, instructions="changed"), name="b.jsonl")
    finally:
        assistant_definition_changed.disconnect(dispatch_uid="test-broken-receiver")
    assert report.ok  # nothing was rejected: the drift is recorded, only the reaction failed
    (error,) = report.to_dict()["errors"]
    assert error["where"] == "assistant asst_0001" and "prompts app is down" in error["message"]
    assert Assistant.objects.get().needs_review and AssistantRevision.objects.count() == 1


def test_assistant_created_elsewhere_is_compared_by_its_columns(tmp_path, engineer, received):
    from tests.factories import AssistantFactory

    AssistantFactory(legacy_id="asst_0001", instructions="You are assistant 1.", model="gpt-4o", definition_hash="")
    _import(tmp_path, engineer, a.assistant(1, metadata={}))
    assistant = Assistant.objects.get()
    # temperature/top_p/response_format were unset on the factory row, so those count as drift
    assert "instructions" not in AssistantRevision.objects.get().changed_fields
    assert assistant.definition_hash == drift.definition_hash(drift.definition_of(assistant))
