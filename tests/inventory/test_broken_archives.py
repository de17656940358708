"""Broken archives: every bad object is rejected with position, field and reason; valid ones import; nothing
is half-written."""

from __future__ import annotations

import gzip
import json

import pytest
from django.db import IntegrityError

from migrator.core.models import Assistant
from migrator.core.services import ServiceError
from migrator.inventory.models import LegacyMessage, LegacyThread
from migrator.inventory.services import sql
from migrator.inventory.services.imports import import_archive
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db


def _errors(report) -> list[tuple[str, str]]:
    return [(e["where"], e["message"]) for e in report.to_dict()["errors"]]


def test_truncated_jsonl_keeps_complete_lines_and_reports_the_cut_one(tmp_path, engineer):
    objs = [a.assistant(1), *a.conversation("thread_t", "asst_0001", turns=2)]
    path = a.write_jsonl(tmp_path / "t.jsonl", objs)
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: len(data) - 40])  # the last run line loses its end
    report = import_archive(path=path, actor=engineer)
    assert not report.ok
    (where, message), = _errors(report)
    assert where == "line 9" and "truncated" in message and "not valid JSON" in message
    assert report.counts["runs"]["rejected"] == 1
    assert Assistant.objects.count() == 1 and LegacyMessage.objects.count() == 4


def test_truncated_gzip_stream(tmp_path, engineer):
    objs = [a.assistant(i) for i in range(200)]
    path = a.write_jsonl(tmp_path / "t.jsonl.gz", objs, gz=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    report = import_archive(path=path, actor=engineer)
    assert not report.ok
    assert any("truncated" in m for _, m in _errors(report))
    imported = Assistant.objects.count()
    assert 0 < imported < 200  # what came before the cut is in, each assistant whole
    assert all(x.model == "gpt-4o" and x.instructions for x in Assistant.objects.all())


def test_truncated_json_document(tmp_path, engineer):
    document = {"format_version": 1, "assistants": [a.assistant(1), a.assistant(2)],
                "threads": [{**a.thread("thread_d"), "messages": [a.message("thread_d", i) for i in range(5)]}]}
    path = a.write_document(tmp_path / "d.json", document)
    text = path.read_text()
    path.write_text(text[: text.index("msg_d_003") + 5])
    report = import_archive(path=path, actor=engineer)
    assert not report.ok
    where, message = _errors(report)[-1]
    assert where.startswith("threads[0] messages[3]") and "truncated" in message
    assert Assistant.objects.count() == 2
    assert LegacyMessage.objects.count() == 3  # messages 0-2 were complete; 3 was cut


def test_malformed_line_in_the_middle_is_skipped(tmp_path, engineer):
    path = a.write_jsonl(tmp_path / "m.jsonl", [a.assistant(1), '{"id": "asst_x", "object": "assistant",,}',
                                               a.assistant(2)])
    report = import_archive(path=path, actor=engineer)
    assert _errors(report)[0][0] == "line 3" and "not valid JSON" in _errors(report)[0][1]
    assert report.counts["assistants"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}


@pytest.mark.parametrize(("obj", "field", "reason"), [
    (a.assistant(9, temperature="hot"), "temperature", "must be a number, got string"),
    (a.assistant(9, tools={"type": "function"}), "tools", "must be an array, got object"),
    (a.assistant(9, model=42), "model", "must be a non-empty string, got number"),
    (a.assistant(9, created_at="yesterday"), "created_at", "neither a Unix timestamp nor an ISO-8601 date"),
    (a.assistant(9, created_at=1_735_689_600_000), "created_at", "milliseconds"),
    (a.assistant(9, metadata=["a"]), "metadata", "must be an object, got array"),
    (a.assistant(9, top_p=3), "top_p", "outside 0..1"),
    (a.assistant(9, response_format=5), "response_format", "must be 'auto' or an object"),
    (a.assistant(9, tools=[{"type": "function", "function": {"description": "x"}}]), "tools[0].function.name",
     "non-empty string name"),
    (a.message("thread_w", 0, content=7), "content", "must be an array of content parts, got number"),
    (a.message("thread_w", 0, content=[{"type": "text", "text": {"value": 5}}]), "content[0].text.value",
     "must be a string, got number"),
    (a.message("thread_w", 0, role="system"), "role", "is not 'user' or 'assistant'"),
    (a.thread("thread_w", tool_resources="nope"), "tool_resources", "not a JSON object"),
])
def test_wrong_types_are_rejected_with_field_and_reason(tmp_path, engineer, obj, field, reason):
    path = a.write_jsonl(tmp_path / "w.jsonl", [a.assistant(1), obj, a.assistant(2)])
    report = import_archive(path=path, actor=engineer)
    (where, message), = _errors(report)
    assert where.startswith("line 3: ") and where.endswith(f"field {field}")
    assert reason in message
    assert Assistant.objects.filter(legacy_id__in=["asst_0001", "asst_0002"]).count() == 2
    assert not Assistant.objects.filter(legacy_id="asst_0009").exists()
    assert not LegacyMessage.objects.exists()


@pytest.mark.parametrize("kind", ["assistant", "thread", "message"])
def test_missing_ids(tmp_path, engineer, kind):
    obj = {"assistant": a.assistant(1), "thread": a.thread("thread_m"), "message": a.message("thread_m", 0)}[kind]
    del obj["id"]
    report = import_archive(path=a.write_jsonl(tmp_path / "m.jsonl", [obj]), actor=engineer)
    (where, message), = _errors(report)
    assert where.endswith("field id") and message.startswith("missing")
    bucket = {"assistant": "assistants", "thread": "threads", "message": "messages"}[kind]
    assert report.counts[bucket]["rejected"] == 1
    assert not Assistant.objects.exists() and not LegacyThread.objects.exists()


def test_duplicate_ids_keep_the_first(tmp_path, engineer):
    first = a.assistant(1, name="first")
    again = a.assistant(1, name="second")
    msg = a.message("thread_u", 0)
    path = a.write_jsonl(tmp_path / "d.jsonl", [first, again, msg, dict(msg, metadata={"x": "y"})])
    report = import_archive(path=path, actor=engineer)
    errors = _errors(report)
    assert errors[0] == ("line 3: assistant asst_0001, field id",
                         "duplicate id; the same assistant appeared earlier (line 2), which was kept.")
    assert errors[1][0] == "line 5: message msg_u_000, field id" and "duplicate id" in errors[1][1]
    assert Assistant.objects.get().name == "first"
    assert LegacyMessage.objects.get().metadata == {}


def test_unknown_tool_types_are_rejected_but_v1_retrieval_is_kept(tmp_path, engineer):
    objs = [a.assistant(1, tools=[{"type": "web_search_preview"}]),
            a.assistant(2, tools=[{"type": "retrieval"}, {"type": "code_interpreter"}]),
            a.assistant(3, tools=[{"name": "flat", "parameters": {}}])]
    report = import_archive(path=a.write_jsonl(tmp_path / "u.jsonl", objs), actor=engineer)
    errors = _errors(report)
    assert errors[0][0] == "line 2: assistant asst_0001, field tools[0].type"
    assert "unknown tool type 'web_search_preview'" in errors[0][1]
    assert errors[1][0].endswith("field tools[0].type") and "wrapped as" in errors[1][1]
    assert list(Assistant.objects.values_list("legacy_id", flat=True)) == ["asst_0002"]


def test_huge_text_is_rejected_and_oversized_lines_are_skipped(tmp_path, engineer, settings):
    objs = [a.assistant(1, instructions="x" * 256_001), a.message("thread_h", 0, text="y" * 1_000_001),
            a.assistant(2, instructions="z" * 256_000)]
    report = import_archive(path=a.write_jsonl(tmp_path / "h.jsonl", objs), actor=engineer)
    errors = _errors(report)
    assert errors[0][0].endswith("field instructions") and "256,001 characters" in errors[0][1]
    assert errors[1][0].endswith("field content") and "1,000,001 characters" in errors[1][1]
    assert list(Assistant.objects.values_list("legacy_id", flat=True)) == ["asst_0002"]

    settings.ARCHIVE_LIMITS = {"max_line_bytes": 4096}
    path = a.write_jsonl(tmp_path / "big.jsonl", [a.message("thread_h", 1, text="q" * 10_000), a.assistant(3)])
    report = import_archive(path=path, actor=engineer)
    (where, message), = _errors(report)
    assert where == "line 2" and "larger than" in message
    assert report.counts["messages"]["rejected"] == 1 and Assistant.objects.filter(legacy_id="asst_0003").exists()


def test_unicode_round_trips_and_a_nul_or_lone_surrogate_becomes_u_fffd_with_a_note_instead_of_losing_the_turn(
        tmp_path, engineer):
    text = "Grüße 👋🏽 — 你好，世界 — مرحبا — 🇩🇪 e\u0301 \u202e"
    objs = [a.assistant(1, name="Kundendienst 🇩🇪", instructions=text),
            a.message("thread_uni", 0, text=text),
            a.message("thread_uni", 1, text="bad \x00 byte"),
            '{"id": "msg_sur", "object": "thread.message", "thread_id": "thread_uni", "role": "user", '
            '"content": [{"type": "text", "text": {"value": "lone \\ud800 half"}}]}']
    report = import_archive(path=a.write_jsonl(tmp_path / "u.jsonl", objs), actor=engineer)
    assert report.counts["messages"] == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    errors = _errors(report)
    assert len(errors) == 2  # noted, not rejected
    assert "content[0].text.value: 1 character(s) (NUL or unpaired surrogate) replaced by U+FFFD" in errors[0][1]
    assert "msg_" in errors[0][0] and "kept" in errors[1][1]
    assert Assistant.objects.get().instructions == text and Assistant.objects.get().name == "Kundendienst 🇩🇪"
    by_id = {m.legacy_id: m for m in LegacyMessage.objects.all()}
    assert by_id["msg_sur"].text == "lone \ufffd half"
    assert [m.text for m in by_id.values() if "byte" in m.text] == ["bad \ufffd byte"]
    assert sum(1 for m in by_id.values() if m.text == text) == 1

    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(a.assistant(5)).encode() + b"\n" + b'{"id": "asst_\xe9", "object": "assistant"}\n')
    report = import_archive(path=path, actor=engineer)
    assert _errors(report) == [("line 2", "the line is not valid UTF-8 text.")]
    assert report.counts["assistants"]["rejected"] == 1


def test_a_row_the_database_refuses_costs_only_itself(tmp_path, engineer, monkeypatch):
    original = sql.insert_prepared

    def picky(model, names, rows):
        rows = list(rows)
        if any("msg_db_001" in row for row in rows):
            raise IntegrityError("simulated constraint violation")
        return original(model, names, rows)

    monkeypatch.setattr(sql, "insert_prepared", picky)
    path = a.write_jsonl(tmp_path / "db.jsonl", [a.thread("thread_db"), *[a.message("thread_db", i) for i in range(4)]])
    report = import_archive(path=path, actor=engineer)
    (where, message), = _errors(report)
    assert where == "line 4: message msg_db_001" and "simulated constraint violation" in message
    assert sorted(LegacyMessage.objects.values_list("legacy_id", flat=True)) == [
        "msg_db_000", "msg_db_002", "msg_db_003"]
    assert report.counts["messages"] == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 1}


def test_unreadable_files(tmp_path, engineer):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(ServiceError, match="empty"):
        import_archive(path=empty, actor=engineer)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 not json at all")
    report = import_archive(path=garbage, actor=engineer)
    assert not report.ok and "malformed" in _errors(report)[0][1]
    newer = a.write_jsonl(tmp_path / "v2.jsonl", [a.assistant(1)], header=False)
    newer.write_text(json.dumps({"object": "migrator.archive", "format_version": 2}) + "\n" + newer.read_text())
    report = import_archive(path=newer, actor=engineer)
    assert "newer than this migrator reads" in _errors(report)[0][1] and not Assistant.objects.exists()
    unknown = a.write_jsonl(tmp_path / "k.jsonl", [{"object": "chat.completion", "id": "x"}])
    assert "unknown object type 'chat.completion'" in _errors(import_archive(path=unknown, actor=engineer))[0][1]
    bare = gzip.compress(b"   \n  ")
    (tmp_path / "blank.gz").write_bytes(bare)
    assert "no JSON" in _errors(import_archive(path=tmp_path / "blank.gz", actor=engineer))[0][1]


def test_seen_ids_remember_millions_of_ids_in_8_bytes_each():
    from migrator.inventory.services.intake import SeenIds

    seen = SeenIds()
    ids = [f"msg_{i:07d}" for i in range(50_000)]
    assert all(seen.add(i) for i in ids)
    assert not any(seen.add(i) for i in ids[::7])  # every second sighting is a duplicate
    assert len(seen) == 50_000 and "msg_0000042" in seen and "msg_x" not in seen
    buckets = [b for b in seen._buckets if b is not None]
    assert sum(b.itemsize * len(b) for b in buckets) == 8 * 50_000
    assert all(list(b) == sorted(b) for b in buckets)
