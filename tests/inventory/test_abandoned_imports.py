"""The upload of an import whose process died is removed when the job is reaped (issue 21, findings 3 and 11)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from migrator.core.models import JobStatus
from migrator.core.services.jobs import reap_jobs
from migrator.inventory.jobs import upload_dir
from tests.factories import JobFactory


def test_a_reaped_import_job_leaves_no_uploaded_file_behind(db, settings, tmp_path):
    settings.JOB_STALE_SECONDS = 30
    settings.MEDIA_ROOT = str(tmp_path / "media")
    upload = upload_dir() / "crashed-export.json"
    upload.write_bytes(b'{"assistants": []}')
    threads = upload_dir() / "crashed-threads.json"
    threads.write_text('["thread_a"]')
    elsewhere = tmp_path / "not-an-upload.json"  # a path outside the uploads folder is never touched
    elsewhere.write_text("{}")
    old = timezone.now() - timedelta(seconds=60)
    archive_job = JobFactory(kind="inventory.import_archive", status=JobStatus.RUNNING, started_at=old,
                             heartbeat_at=old, time_limit=3600, params={"path": str(upload), "delete_after": True})
    live_job = JobFactory(kind="inventory.import_connection", status=JobStatus.RUNNING, started_at=old,
                          heartbeat_at=old, time_limit=3600, params={"connection_id": 1, "threads_file": str(threads)})
    foreign = JobFactory(kind="inventory.import_archive", status=JobStatus.RUNNING, started_at=old, heartbeat_at=old,
                         time_limit=3600, params={"path": str(elsewhere), "delete_after": True})
    assert sorted(reap_jobs().stale) == sorted([archive_job.pk, live_job.pk, foreign.pk])
    assert not upload.exists() and not threads.exists()
    assert elsewhere.exists()
