"""A real Celery worker's memory after hostile imports is back within 50 MB of where it started (issue 15:
"archive reader memory grows with the square of JSON nesting depth, and the worker keeps it")."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from migrator.core.models import Assistant, Job, JobStatus
from migrator.core.services.jobs import start_job
from tests.inventory import archives as a

pytestmark = [pytest.mark.worker]

MB = 1024 * 1024


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _pool_child(pid: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise AssertionError("the worker started no pool process")


def _import(path: Path, engineer) -> Job:
    job = start_job(kind="inventory.import_archive", actor=engineer, params={"path": str(path),
                                                                            "filename": path.name})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} did not finish")


def test_worker_memory_after_hostile_imports_is_back_within_50_mb(celery_worker_process, engineer, tmp_path):
    import json

    warm = a.write_jsonl(tmp_path / "warm.jsonl", [a.assistant(1), *a.conversation("thread_w", "asst_0001")])
    job = _import(warm, engineer)
    assert job.status == JobStatus.SUCCEEDED, (job.error, celery_worker_process.log()[-3000:])
    child = _pool_child(celery_worker_process.process.pid)
    before = _rss(child)

    depth = 20_000
    nested = "[" * depth + "1" + "]" * depth
    hostile = {
        "nest.json": "[" + nested + ", " + json.dumps(a.assistant(2)) + "]",
        "nest-line.jsonl": json.dumps(a.assistant(3)) + "\n" + '{"object": "assistant", "x": ' + nested + "}\n",
        "nest-map.json": '{"assistants": [' + '{"a":' * depth + "1" + "}" * depth + "]}",
        "digits.json": '{"assistants": [{"id": "asst_n", "model": "m", "top_p": ' + "9" * 90_000 + "}]}",
    }
    for name, text in hostile.items():
        path = tmp_path / name
        path.write_text(text)
        job = _import(path, engineer)
        assert job.status == JobStatus.SUCCEEDED, (name, job.error)
        assert job.result["errors"], name
        assert "Traceback" not in json.dumps(job.result)
    bomb = tmp_path / "nest.json.gz"
    with gzip.open(bomb, "wb") as out:
        out.write(("[" * 200_000 + "]" * 200_000).encode())
    assert _import(bomb, engineer).status == JobStatus.SUCCEEDED

    after = _rss(child)
    assert after - before < 50 * MB, f"worker RSS grew from {before // MB} MB to {after // MB} MB"
    assert set(Assistant.objects.values_list("legacy_id", flat=True)) >= {"asst_0001", "asst_0002", "asst_0003"}
