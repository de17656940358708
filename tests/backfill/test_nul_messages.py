"""A user message with a NUL is imported with U+FFFD and backfilled, the ledger saying so (issue 21, finding 6)."""

from __future__ import annotations

import pytest

from migrator.backfill.services.planning import options_from, plan_for
from migrator.core.actors import system
from migrator.inventory.models import LegacyThread
from migrator.inventory.services.imports import import_archive
from tests.backfill.fixtures import thread_objects
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db


def test_a_user_turn_with_a_nul_is_carried_with_u_fffd_and_the_backfill_ledger_notes_the_import_change(tmp_path):
    objs = [a.assistant("asst_nul"), *thread_objects("thread_nul001", 2)]
    for obj in objs:
        if obj.get("id") == "msg_thread_nul001_002" or (obj.get("object") == "thread.message"
                                                          and obj.get("role") == "user" and "question 1" in str(obj)):
            obj["content"][0]["text"]["value"] = "my order\x00 number is 42"
    report = import_archive(path=a.write_jsonl(tmp_path / "t.jsonl", objs), actor=system("test", "test"))
    assert report.counts["messages"]["rejected"] == 0
    plan = plan_for(LegacyThread.objects.get(legacy_id="thread_nul001"), options_from(None))
    users = [item for item in plan.items if item.get("role") == "user"]
    assert len(users) == 2  # no turn lost
    assert users[1]["content"][0]["text"] == "my order\ufffd number is 42"
    notes = [e for e in plan.ledger if e.kind == "changed" and "at import" in e.what]
    assert len(notes) == 1 and "replaced by U+FFFD" in notes[0].what
