"""The shared corpus (real assistant definitions and message lists from public repositories) as archives.

Corpus assistants are request bodies (``assistants.create`` / ``update`` parameters), not API objects: they
have no ``id``, ``object`` or ``created_at``. The importer's rule (docs/export-format.md, "Request bodies"):
``id`` is required and such objects are rejected with a message saying so, because an invented id would
break idempotent re-import; ``object`` and ``created_at`` are optional. With the ids added, the definitions
import, except partial update bodies without a ``model`` and tools the Assistants API never accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.core.actors import SYSTEM
from migrator.core.models import Assistant
from migrator.inventory.models import LegacyMessage, LegacyThread
from migrator.inventory.services.imports import import_archive
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def _corpus(kind: str) -> list[tuple[str, dict]]:
    folder = CORPUS / kind
    if not folder.is_dir():
        pytest.skip(f"the shared corpus is not at {folder} (../shared sits beside the checkout in CI only)")
    return [(p.stem, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def test_request_bodies_without_ids_are_rejected_with_a_clear_message(tmp_path):
    bodies = [entry["assistant"] for _, entry in _corpus("assistants")]
    report = import_archive(path=a.write_jsonl(tmp_path / "bodies.jsonl", bodies), actor=SYSTEM)
    result = report.to_dict()
    assert len(result["errors"]) == len(bodies) == 50 and not report.ok
    # In JSON Lines an object without "object" is told apart by its shape; a partial update body has too
    # little shape to tell, and is reported as such.
    identified = [e for e in result["errors"] if e["where"].endswith("field id")]
    assert result["assistants"]["rejected"] == len(identified) >= 40
    assert all("Request bodies such as assistants.create parameters are not API objects" in e["message"]
               for e in identified)
    assert all("without an 'object' field" in e["message"] for e in result["errors"] if e not in identified)
    assert not Assistant.objects.exists()

    document = a.write_document(tmp_path / "bodies.json", {"assistants": bodies})
    result = import_archive(path=document, actor=SYSTEM).to_dict()
    assert result["assistants"]["rejected"] == 50
    assert all(e["where"].endswith("field id") for e in result["errors"])


def test_corpus_definitions_with_ids_import(tmp_path):
    objects = []
    for number, entry in _corpus("assistants"):
        given = entry["source"].get("assistant_id") or ""
        legacy = given if given.startswith("asst_") and "RUNTIME" not in given else f"asst_corpus_{number}"
        objects.append({"id": legacy, "object": "assistant", **entry["assistant"]})
    report = import_archive(path=a.write_jsonl(tmp_path / "corpus.jsonl", objects), actor=SYSTEM)
    result = report.to_dict()
    rejected = {e["where"].split(" ")[3].rstrip(","): e["message"] for e in result["errors"]}
    no_model = {"asst_corpus_004", "asst_corpus_018", "asst_corpus_021", "asst_corpus_024",
                "asst_8XaMCZ0jXistHLFdTEi2HKfo", "asst_er72T8D7D8xth2HaM0mjxi5m", "asst_glra4ta7HioDbGWKNotNaHuL"}
    assert {k for k, m in rejected.items() if m.startswith("missing; every assistant object names its model")} == no_model
    assert rejected["asst_corpus_034"].startswith("unknown tool type 'action'")
    assert "wrapped as" in rejected["asst_corpus_036"]  # a flat Responses-style function tool
    assert result["assistants"] == {"created": 41, "updated": 0, "unchanged": 0, "rejected": 9}

    # The quirks are kept as they were: v1 retrieval tools, nested metadata values, unknown keys.
    v1 = Assistant.objects.get(legacy_id="asst_corpus_001")
    assert [t["type"] for t in v1.tools] == ["retrieval", "code_interpreter"] and v1.legacy_created_at is None
    assert Assistant.objects.get(legacy_id="asst_corpus_032").metadata == {"memory": {"type": "naive"}}
    assert Assistant.objects.get(legacy_id="asst_corpus_005").raw["language"] == "kr"
    again = import_archive(path=tmp_path / "corpus.jsonl", actor=SYSTEM).to_dict()
    assert again["assistants"]["unchanged"] == 41


def test_corpus_message_lists_import_as_threads(tmp_path):
    lines = []
    expected: dict[str, int] = {}
    for _, entry in _corpus("threads"):
        for message in entry["messages"]:
            lines.append(message)
            expected[message["thread_id"]] = expected.get(message["thread_id"], 0) + 1
    report = import_archive(path=a.write_jsonl(tmp_path / "threads.jsonl", lines), actor=SYSTEM).to_dict()
    assert report["errors"] == []
    assert report["messages"]["created"] == len(lines)
    assert report["threads"]["created"] == len(expected)
    for legacy_id, count in expected.items():
        thread = LegacyThread.objects.get(legacy_id=legacy_id)
        assert thread.is_stub and thread.message_count == count
        stamps = list(LegacyMessage.objects.filter(thread=thread).order_by("position")
                      .values_list("created_at_legacy", flat=True))
        assert stamps == sorted(stamps)  # newest-first dumps come out oldest-first
    hr = LegacyThread.objects.get(legacy_id="thread_1nr34IXRHNQOipkQODjmrIUN")  # created_at as strings
    first = hr.messages.order_by("position").first()
    assert first.role == "user" and first.metadata == {}
