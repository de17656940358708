"""Real thread histories from public repositories (../shared/corpus/threads) planned, sent and compared.

Every corpus thread must either become a conversation that holds exactly its plan, or fail alone with a clear
reason; nothing in between. Skips when ../shared is absent (it sits beside the checkout in CI only).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from migrator.backfill.models import ThreadBackfill, ThreadStatus
from migrator.backfill.services.runs import create_run, run_inline
from migrator.backfill.services.selection import Selection
from migrator.core.actors import system
from migrator.inventory.services.imports import import_archive
from tests.backfill.fixtures import assert_exactly_the_plan, connect
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db(transaction=True)

CORPUS = Path(os.environ.get("MIGRATOR_SHARED_DIR") or Path(__file__).resolve().parents[2].parent / "shared") / "corpus" / "threads"
ACTOR = system("test:corpus", "corpus test")


def test_corpus_threads_backfill_exactly_or_fail_with_a_reason(sandbox_empty, tmp_path):
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS} (../shared sits beside the checkout in CI only)")
    lines = [m for p in sorted(CORPUS.glob("*.json")) for m in json.loads(p.read_text())["messages"]]
    report = import_archive(path=a.write_jsonl(tmp_path / "corpus.jsonl", lines), actor=ACTOR)
    assert report.ok, report.to_dict()["errors"][:3]
    run = run_inline(actor=ACTOR, run=create_run(actor=ACTOR, connection=connect(sandbox_empty),
                                                 selection=Selection(all=True)))
    rows = list(ThreadBackfill.objects.filter(run=run).select_related("thread"))
    assert rows and {r.status for r in rows} <= {ThreadStatus.DONE, ThreadStatus.FAILED, ThreadStatus.SKIPPED}
    for row in rows:
        if row.status == ThreadStatus.DONE:
            assert_exactly_the_plan(sandbox_empty, row)
        else:
            assert row.reason, row.thread.legacy_id
    # Every corpus thread is carriable today (a new one that is not must fail alone, as above).
    assert {r.status for r in rows} == {ThreadStatus.DONE}


@pytest.mark.slow  # demo-wide: imports and backfills 40 demo threads live
def test_demo_threads_with_images_annotations_and_hosted_tools(sandbox, tmp_path):
    """The demo organisation's threads (images, image files, attachments, citations, file paths, failed runs,
    code_interpreter and file_search steps), imported live, rendered with hosted tools as text."""
    from migrator.inventory.demo import fetch_demo_thread_list
    from migrator.inventory.services.imports import import_from_connection
    from migrator.inventory.thread_ids import parse_thread_list

    connection = connect(sandbox, "Demo")
    refs = parse_thread_list(fetch_demo_thread_list(connection)).refs[::8]  # 40 of the 320, every kind
    assert import_from_connection(connection=connection, actor=ACTOR, thread_ids=refs).ok
    run = run_inline(actor=ACTOR, run=create_run(actor=ACTOR, connection=connection, selection=Selection(all=True),
                                                 options={"hosted_tools": "text", "markers": "strip"}))
    rows = list(ThreadBackfill.objects.filter(run=run).select_related("thread"))
    assert len(rows) == len(refs)
    for row in rows:
        assert row.status in (ThreadStatus.DONE, ThreadStatus.SKIPPED), (row.thread.legacy_id, row.reason)
        if row.status == ThreadStatus.DONE:
            assert_exactly_the_plan(sandbox, row)
    kinds = {(e["kind"], e["what"].split(" ")[0]) for r in rows for e in r.ledger}
    assert {("changed", "citation"), ("dropped", "attachment"), ("dropped", "assistant")} <= kinds, kinds
