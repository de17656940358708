"""A backfill gives its lane threads' database connections back (issue 21, finding 1).

On PostgreSQL every lane thread of a chunk job opened its own connection, kept by ``CONN_MAX_AGE``; a worker
carrying many chunk jobs piled them up until the server refused every client. Counted on the server itself.
"""

from __future__ import annotations

import gc
import time

import pytest
from django.db import connection

from migrator.backfill.models import BackfillRun, RunStatus, ThreadBackfill, ThreadStatus
from migrator.backfill.services.runs import create_run, process_rows
from migrator.backfill.services.selection import Selection
from migrator.core.actors import system
from migrator.core.lanes import LanePool
from tests.backfill.fixtures import connect, import_threads

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = system("test:backfill", "backfill test")


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _settled_connections(at_most: int) -> int:
    """The count once closed backends have exited (a closed connection leaves pg_stat_activity a moment later);
    without the fix the lanes' connections stay for CONN_MAX_AGE (60 s), far longer than this waits."""
    deadline = time.monotonic() + 3
    while (count := _server_connections()) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("counts connections on the PostgreSQL server (set DATABASE_URL to a PostgreSQL database)")


def test_five_chunk_jobs_in_a_row_leave_no_lane_connection_open_on_postgresql(postgres, make_sandbox, tmp_path,
                                                                              settings):
    settings.BACKFILL_THREADS_PER_JOB = 4
    box = make_sandbox()
    target = connect(box)
    import_threads(tmp_path, [(f"thread_conn{n:04d}", 2) for n in range(20)])
    run = create_run(actor=ACTOR, connection=target, selection=Selection(all=True))
    BackfillRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)  # as start_run leaves it
    ids = list(ThreadBackfill.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    before = _server_connections()
    gc.disable()  # the garbage collector used to hide the leak now and then; nothing may depend on it
    try:
        for n in range(5):  # five chunk jobs, as one worker process carries them one after another
            process_rows(run_id=run.pk, row_ids=ids[4 * n:4 * n + 4], owner=f"test-{n}")
            assert _settled_connections(before) <= before, f"after chunk {n + 1}: lane connections left open"
    finally:
        gc.enable()
    assert set(ThreadBackfill.objects.filter(run=run).values_list("status", flat=True)) == {ThreadStatus.DONE}


def test_a_lane_pool_closes_every_connection_its_threads_opened(postgres):
    before = _server_connections()

    def query(_: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0]

    gc.disable()
    try:
        with LanePool(max_workers=4) as pool:
            assert list(pool.map(query, range(16))) == [1] * 16
            assert _server_connections() > before  # the lanes really held connections of their own
        assert _settled_connections(before) == before
    finally:
        gc.enable()
