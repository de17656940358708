"""Archive import: formats, figures, idempotency, and positions."""

from __future__ import annotations

import pytest

from migrator.core.models import Assistant, AuditEvent
from migrator.core.status import Priority
from migrator.inventory.models import LegacyFile, LegacyMessage, LegacyRun, LegacyThread, VectorStore
from migrator.inventory.services.imports import import_archive
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db


def _estate() -> list[dict]:
    """Two assistants; billing has two threads (one with tool calls), docs one single-turn thread."""
    billing = a.assistant("asst_billing", name="Billing", tools=[
        {"type": "function", "function": {"name": "get_invoice", "parameters": {"type": "object"}}},
        {"type": "file_search"}], tool_resources={"file_search": {"vector_store_ids": ["vs_handbook"]}})
    docs = a.assistant("asst_docs", name="Docs", model="gpt-4-turbo")
    objs: list[dict] = [billing, docs]
    objs += a.conversation("thread_b1", "asst_billing", turns=3)
    convo = a.conversation("thread_b2", "asst_billing", turns=2)
    objs += convo
    first_run = next(o for o in convo if o["object"] == "thread.run")
    objs.append(a.tool_step(first_run, 1, a.function_call("get_invoice"), a.function_call("get_invoice"),
                            {"id": "call_fs", "type": "file_search", "file_search": {}}))
    objs += a.conversation("thread_d1", "asst_docs", turns=1)
    objs.append({"object": "migrator.thread_info", "thread_id": "thread_b1", "flow": "billing-web",
                 "end_user_id": "cus_1", "tags": ["vip", "eu"]})
    objs.append({"id": "vs_handbook", "object": "vector_store", "name": "Handbook", "status": "completed",
                 "file_counts": {"completed": 2, "total": 2}, "usage_bytes": 2048, "created_at": a.T0,
                 "expires_after": {"anchor": "last_active_at", "days": 7}, "expires_at": a.T0 + 86400 * 30,
                 "file_ids": ["file-abc"]})
    objs.append({"id": "file-abc", "object": "file", "filename": "handbook.pdf", "bytes": 1234,
                 "purpose": "assistants", "created_at": a.T0, "status": "processed"})
    return objs


def test_jsonl_import_creates_everything_with_figures(tmp_path, engineer):
    path = a.write_jsonl(tmp_path / "estate.jsonl", _estate())
    report = import_archive(path=path, actor=engineer)
    result = report.to_dict()
    assert set(result) == {"assistants", "threads", "messages", "errors"}
    assert result["errors"] == []
    assert result["assistants"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert result["threads"]["created"] == 3
    assert result["messages"]["created"] == 12
    assert report.ok

    billing = Assistant.objects.get(legacy_id="asst_billing")
    assert billing.thread_count == 2 and billing.message_count == 10 and billing.run_count == 5
    assert billing.tool_call_counts == {"function:get_invoice": 2, "file_search": 1}
    assert billing.avg_turns_per_thread == 2.5
    assert billing.single_turn_share == 0
    assert billing.traffic_share == pytest.approx(10 / 12, abs=1e-5)
    assert billing.suggested_priority == Priority.CRITICAL and billing.priority == Priority.CRITICAL
    assert billing.definition_hash and billing.source == "archive estate.jsonl"
    docs = Assistant.objects.get(legacy_id="asst_docs")
    assert docs.single_turn_share == 1 and docs.suggested_priority == Priority.NORMAL

    thread = LegacyThread.objects.get(legacy_id="thread_b1")
    assert thread.assistant == billing
    assert (thread.flow_slug, thread.end_user_id, thread.tags) == ("billing-web", "cus_1", ["vip", "eu"])
    assert (thread.message_count, thread.user_turns, thread.assistant_turns, thread.run_count) == (6, 3, 3, 3)
    assert thread.approx_tokens > 0 and thread.last_message_at is not None
    positions = list(thread.messages.order_by("position").values_list("position", "legacy_id"))
    assert [p for p, _ in positions] == list(range(6))
    assert [m for _, m in positions] == sorted(m for _, m in positions)
    run = LegacyRun.objects.get(legacy_id="run_b2_000")
    assert run.tool_calls == {"function:get_invoice": 2, "file_search": 1} and len(run.steps) == 1
    store = VectorStore.objects.get(legacy_id="vs_handbook")
    assert store.status == "completed" and store.expires_at is not None and store.file_ids == ["file-abc"]
    assert LegacyFile.objects.get(legacy_id="file-abc").filename == "handbook.pdf"
    message = LegacyMessage.objects.get(legacy_id="msg_b1_001")
    assert message.text == "assistant says 1" and message.run_legacy_id == "run_b1_000"
    assert message.extra["status"] == "completed"
    assert AuditEvent.objects.filter(verb="migrator.inventory.imported").count() == 1


def _snapshot() -> dict:
    return {
        "assistants": list(Assistant.objects.order_by("pk").values()),
        "threads": list(LegacyThread.objects.order_by("pk").values()),
        "messages": list(LegacyMessage.objects.order_by("pk").values()),
        "runs": list(LegacyRun.objects.order_by("pk").values()),
    }


def test_reimport_is_idempotent_and_writes_nothing(tmp_path, engineer):
    path = a.write_jsonl(tmp_path / "estate.jsonl", _estate())
    import_archive(path=path, actor=engineer)
    before = _snapshot()
    report = import_archive(path=path, actor=engineer).to_dict()
    assert report["assistants"] == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert report["threads"] == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert report["messages"] == {"created": 0, "updated": 0, "unchanged": 12, "rejected": 0}
    assert _snapshot() == before  # not even a timestamp moved


def test_json_document_gzipped_with_nested_children_matches_jsonl(tmp_path, engineer):
    objs = _estate()
    threads = []
    for t in [o for o in objs if o.get("object") == "thread"]:
        runs = [dict(r) for r in objs if r.get("object") == "thread.run" and r["thread_id"] == t["id"]]
        for r in runs:
            r["steps"] = {"object": "list", "data": [s for s in objs if s.get("object") == "thread.run.step"
                                                     and s["run_id"] == r["id"]], "has_more": False}
        # messages as a newest-first list page, as messages.list returns by default
        messages = [m for m in objs if m.get("object") == "thread.message" and m["thread_id"] == t["id"]][::-1]
        threads.append({**t, "messages": {"object": "list", "data": messages, "has_more": False}, "runs": runs})
    document = {
        "format": "migrator.assistants-archive", "format_version": 1,
        "assistants": [o for o in objs if o.get("object") == "assistant"],
        "threads": threads,
        "thread_list": [{"thread_id": "thread_b1", "flow": "billing-web", "end_user_id": "cus_1",
                         "tags": "vip;eu"}],
        "vector_stores": [o for o in objs if o.get("object") == "vector_store"],
        "files": [o for o in objs if o.get("object") == "file"],
    }
    path = a.write_document(tmp_path / "estate.json.gz", document, gz=True)
    report = import_archive(path=path, actor=engineer).to_dict()
    assert report["errors"] == []
    assert report["messages"]["created"] == 12 and report["threads"]["created"] == 3
    via_document = _snapshot()
    thread = LegacyThread.objects.get(legacy_id="thread_b1")
    assert [m.legacy_id for m in thread.messages.order_by("position")] == [f"msg_b1_{i:03d}" for i in range(6)]
    assert thread.tags == ["vip", "eu"] and thread.flow_slug == "billing-web"
    assert LegacyRun.objects.get(legacy_id="run_b2_000").tool_calls == {"function:get_invoice": 2, "file_search": 1}
    # And the JSONL form of the same estate changes nothing on top of it.
    again = import_archive(path=a.write_jsonl(tmp_path / "estate.jsonl", _estate()), actor=engineer).to_dict()
    assert again["messages"] == {"created": 0, "updated": 0, "unchanged": 12, "rejected": 0}
    assert again["assistants"]["unchanged"] == 2
    assert [t["tags"] for t in _snapshot()["threads"]] == [t["tags"] for t in via_document["threads"]]


def test_newest_first_dump_with_equal_timestamps_gets_chronological_positions(tmp_path, engineer):
    # one-second resolution: pairs share a timestamp; the dump is newest-first like messages.list's default
    msgs = [a.message("thread_x", i, "user" if i % 2 == 0 else "assistant", created=a.T0 + 500 + 10 * (i // 2))
            for i in range(4)]
    path = a.write_jsonl(tmp_path / "desc.jsonl", [a.thread("thread_x"), *reversed(msgs)])
    # a second, later batch of the same thread must join in order too
    later = [a.message("thread_x", 4, created=a.T0 + 900), a.message("thread_x", 5, "assistant", created=a.T0 + 901)]
    import_archive(path=path, actor=engineer)
    import_archive(path=a.write_jsonl(tmp_path / "later.jsonl", later[::-1]), actor=engineer)
    ordered = list(LegacyMessage.objects.filter(thread__legacy_id="thread_x").order_by("position")
                   .values_list("legacy_id", flat=True))
    assert ordered == [f"msg_x_{i:03d}" for i in range(6)]
    assert LegacyThread.objects.get(legacy_id="thread_x").message_count == 6


def test_message_only_dump_creates_stub_threads(tmp_path, engineer):
    msgs = [a.message("thread_stub", i, created=a.T0 + 1000 + i) for i in range(3)]
    report = import_archive(path=a.write_jsonl(tmp_path / "m.jsonl", msgs, header=False), actor=engineer).to_dict()
    assert report["threads"]["created"] == 1 and report["messages"]["created"] == 3
    stub = LegacyThread.objects.get(legacy_id="thread_stub")
    assert stub.is_stub and stub.created_at_legacy is not None and stub.message_count == 3
    # the thread object arriving later fills the stub in
    report = import_archive(path=a.write_jsonl(tmp_path / "t.jsonl", [a.thread("thread_stub")]),
                            actor=engineer).to_dict()
    assert report["threads"]["updated"] == 1
    assert not LegacyThread.objects.get(legacy_id="thread_stub").is_stub


def test_threads_imported_before_their_assistant_get_linked_later(tmp_path, engineer):
    import_archive(path=a.write_jsonl(tmp_path / "t.jsonl", a.conversation("thread_l", "asst_late")), actor=engineer)
    assert LegacyThread.objects.get(legacy_id="thread_l").assistant is None
    import_archive(path=a.write_jsonl(tmp_path / "a.jsonl", [a.assistant("asst_late")]), actor=engineer)
    late = Assistant.objects.get(legacy_id="asst_late")
    assert LegacyThread.objects.get(legacy_id="thread_l").assistant == late
    late.refresh_from_db()
    assert late.thread_count == 1 and late.message_count == 4


def test_lenient_fields_from_printed_dumps(tmp_path, engineer):
    msg = a.message("thread_p", 0, created=None)
    msg.update(created_at="1702018935", metadata="{}", file_ids=[])
    report = import_archive(path=a.write_jsonl(tmp_path / "p.jsonl", [msg]), actor=engineer).to_dict()
    assert report["errors"] == []
    stored = LegacyMessage.objects.get()
    assert stored.created_at_legacy.year == 2023 and stored.metadata == {} and stored.extra["file_ids"] == []


def test_overridden_priority_survives_reimport(tmp_path, engineer):
    path = a.write_jsonl(tmp_path / "estate.jsonl", _estate())
    import_archive(path=path, actor=engineer)
    Assistant.objects.filter(legacy_id="asst_docs").update(priority=Priority.CRITICAL, priority_overridden=True)
    import_archive(path=a.write_jsonl(tmp_path / "more.jsonl", a.conversation("thread_d2", "asst_docs", 4)),
                   actor=engineer)
    docs = Assistant.objects.get(legacy_id="asst_docs")
    assert docs.priority == Priority.CRITICAL and docs.message_count == 10
