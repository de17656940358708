"""A rolling deploy: processes still on the older code insert jobs without the columns added since. The database
defaults fill them in (core 0010), so neither side fails while both run."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from migrator.core.models import Job

pytestmark = pytest.mark.django_db

# The job table's columns in the first release: what older code inserts.
FIRST_RELEASE = ("kind", "status", "params", "result", "progress_done", "progress_total", "progress_message", "error",
                 "log", "subject_type", "subject_id", "subject_label", "celery_task_id", "worker", "cancel_requested",
                 "created_at")


def test_a_job_inserted_by_older_code_gets_every_newer_column_from_the_database():
    columns = list(FIRST_RELEASE)
    values: list = ["tool_test", "queued", "{}", "{}", 0, 0, "", "", "", "", "", "", "", "", False, timezone.now()]
    if connection.vendor != "postgresql":  # SQLite has no UUID function: there the old insert names a token
        columns.append("token")
        values.append(uuid.uuid4().hex)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO core_job ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(values))})",
                       values)
    job = Job.objects.get()
    assert (job.queue, job.enqueue_count, job.worker_host, job.progress_unit, job.links) == ("", 0, "", "", [])
    assert isinstance(job.token, uuid.UUID)
