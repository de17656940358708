"""The importer's memory does not grow with the estate where it need not (issue 27): the closing steps run after
the intake let go of the ids it saw, usage is recomputed a chunk of assistants at a time, and new threads and
runs travel as prepared tuples covering every column."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from migrator.core.models import Assistant
from migrator.core.status import Priority
from migrator.inventory.archive.reader import ArchiveReader
from migrator.inventory.models import LegacyRun, LegacyThread
from migrator.inventory.services import stats, usage
from migrator.inventory.services.writer import RUN_INSERT, THREAD_INSERT, Importer
from tests.inventory import archives as a


def _columns(model) -> set[str]:
    return {f.name for f in model._meta.concrete_fields if not f.primary_key}


def test_prepared_thread_and_run_rows_name_every_column():
    # COPY fills only the columns it names: a new column left out would be NULL (or refused) in every import.
    assert set(THREAD_INSERT) == _columns(LegacyThread) and len(THREAD_INSERT) == len(set(THREAD_INSERT))
    assert set(RUN_INSERT) == _columns(LegacyRun) and len(RUN_INSERT) == len(set(RUN_INSERT))


def _estate(tmp_path, assistants: int = 5):
    objs: list[dict] = [a.assistant(i) for i in range(assistants)]
    for i in range(assistants):
        for t in range(i % 3 + 1):
            objs += a.conversation(f"thread_{i:02d}{t}", f"asst_{i:04d}", turns=i % 4 + 1)
    return a.write_jsonl(tmp_path / "estate.jsonl", objs)


@pytest.mark.django_db
def test_closing_steps_run_after_the_intake_let_go_of_what_it_saw(tmp_path, engineer, monkeypatch):
    importer = Importer(source="archive estate.jsonl", actor=engineer)
    held = []

    def watching(name, func):
        def step(*args, **kwargs):
            held.append((name, len(importer._seen["assistant"]) + len(importer._seen["thread"]),
                         sum(len(s) for s in importer._seen_hashes.values()), len(importer._fresh)))
            return func(*args, **kwargs)
        return step

    monkeypatch.setattr(stats, "renumber_positions", watching("renumber", stats.renumber_positions))
    monkeypatch.setattr(stats, "refresh_threads", watching("threads", stats.refresh_threads))
    monkeypatch.setattr(usage, "recompute_usage", watching("usage", usage.recompute_usage))
    importer.feed(ArchiveReader(_estate(tmp_path)))
    importer.flush()
    assert len(importer._seen_hashes["message"]) > 0 and importer._fresh  # what the intake holds while reading
    report = importer.finish()
    assert report.counts["messages"]["created"] > 0 and not report.errors
    assert held == [("renumber", 0, 0, 0), ("threads", 0, 0, 0), ("usage", 0, 0, 0)]
    with pytest.raises(RuntimeError, match="finished"):
        importer.add(next(iter(ArchiveReader(_estate(tmp_path)))))


def test_ranking_a_chunk_at_a_time_is_the_whole_table_ranking():
    rng = random.Random(27)
    for _ in range(200):
        counts = {pk: rng.choice([0, 0, 1, 2, 3, 5, 8, 40, rng.randint(0, 500)]) for pk in
                  rng.sample(range(1, 10_000), rng.randint(1, 60))}
        histogram: dict[int, int] = {}
        for n in counts.values():
            if n > 0:
                histogram[n] = histogram.get(n, 0) + 1
        ranking = usage._Ranking(histogram)
        assert {pk: ranking.next(counts[pk]) for pk in sorted(counts)} == usage.suggest_priorities(counts)


@pytest.mark.django_db
def test_usage_reads_and_writes_a_chunk_of_assistants_at_a_time(tmp_path, engineer, monkeypatch):
    from migrator.inventory.services.imports import import_archive

    monkeypatch.setattr(usage, "CHUNK", 2)
    import_archive(path=_estate(tmp_path, assistants=7), actor=engineer)
    got = {x.legacy_id: (x.message_count, x.thread_count, x.suggested_priority) for x in Assistant.objects.all()}
    messages = {x.pk: x.message_count for x in Assistant.objects.all()}
    assert sorted(messages.values()) == sorted(2 * (i % 4 + 1) * (i % 3 + 1) for i in range(7))
    expected = usage.suggest_priorities(messages)
    assert {x.legacy_id: x.suggested_priority for x in Assistant.objects.all()} == {
        x.legacy_id: expected[x.pk] for x in Assistant.objects.all()}
    assert Priority.CRITICAL in expected.values()

    Assistant.objects.update(message_count=0, thread_count=0, suggested_priority=Priority.LOW)
    with CaptureQueriesContext(connection) as queries:
        usage.recompute_usage()
    table = Assistant._meta.db_table
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]]
    assert len(reads) == 4 and all("LIMIT 2" in sql for sql in reads), reads  # 7 assistants, 2 at a time
    assert {x.legacy_id: (x.message_count, x.thread_count, x.suggested_priority)
            for x in Assistant.objects.all()} == got



def test_seen_places_keep_an_id_and_where_it_was_in_about_30_bytes():
    from migrator.inventory.services.intake import SeenPlaces

    seen = SeenPlaces()
    ids = [f"thread_{i:07d}" for i in range(50_000)]
    assert all(seen.first(key, f"line {n + 2}") is None for n, key in enumerate(ids))
    assert seen.first(ids[0], "line 99999") == "line 2" and seen.first(ids[-1], "x") == "line 50001"
    assert seen.first("thread_new", "threads[3] messages[4]") is None and seen.first("thread_new", "y") == (
        "threads[3] messages[4]")
    assert len(seen) == 50_001
    stored = sum(b.itemsize * len(b) for b in seen._hashes + seen._offsets if b is not None) + len(seen._text)
    assert stored < 30 * 50_001


def test_pk_set_and_counts_keep_8_and_16_bytes_an_id():
    from migrator.inventory.services.intake import PkCounts, PkSet

    rng = random.Random(27)
    pks = PkSet()
    plain: set[int] = set()
    for start in range(0, 60_000, 1000):  # rising batches, and now and then ids from before (a re-import)
        batch = list(range(start + 1, start + 1001)) + [rng.randint(1, start + 1000) for _ in range(50)]
        for pk in batch:
            pks.add(pk)
        plain.update(batch)
    assert 17 in pks and 60_000 in pks and 60_001 not in pks
    assert list(pks) == sorted(plain) and len(pks) == len(plain) == 60_000
    assert pks._sorted.itemsize * len(pks._sorted) == 8 * 60_000 and not pks._recent
    assert list(stats.chunks(pks, 7))[1] == [8, 9, 10, 11, 12, 13, 14]

    counts = PkCounts()
    for pk in [5, 9, 2, 7, 100]:
        counts[pk] = pk * 10
    counts[9] = counts[9] + 1
    assert 9 in counts and 3 not in counts and counts[9] == 91 and len(counts) == 5
    assert list(counts._pks) == [2, 5, 7, 9, 100]
    with pytest.raises(KeyError):
        counts[3]
