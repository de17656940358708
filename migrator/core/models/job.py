from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone

from migrator.core.jobs.registry import registry
from migrator.core.status import move_all


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


JOB_FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

# The one table of job status moves. ``JobQuerySet.move`` moves a job along it through core's helper
# (``migrator.core.status.move_all``), a compare-and-set against the sources this table allows.
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def job_move_allowed(source: str, target: str) -> bool:
    return target in JOB_TRANSITIONS.get(source, frozenset())


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user) -> JobQuerySet:
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser or user.has_perm("core.view_job"):
            return self
        return self.filter(created_by=user)

    def unfinished(self) -> JobQuerySet:
        return self.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])

    def move(self, pk: int, target: str, *, where: dict[str, Any] | None = None, **fields: Any) -> bool:
        """Move job ``pk`` to ``target`` if the transitions table allows it from its current status.

        A compare-and-set: one UPDATE filtered on the allowed source statuses (plus ``where``), so two
        processes racing (a worker finishing, a reaper failing, a user cancelling) cannot both win and a
        finished job never moves again. Returns whether this call made the move.
        """
        if target in JOB_FINISHED:
            fields.setdefault("finished_at", timezone.now())
        return bool(move_all(self.filter(pk=pk, **(where or {})), target, **fields))


class Job(models.Model):
    """The truth about one piece of background work (netbox's Job, in spirit)."""

    kind = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    STATUS_TRANSITIONS = JOB_TRANSITIONS
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    # What the job is about, for links and filtering (e.g. "core.assistant", "42").
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    subject_label = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    # Every message carries this token: a worker runs a job only if its own database has the job with it.
    token = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    # Database defaults too (db_default) on every column added after the first release: during a rolling
    # deploy, processes still running the older code insert jobs without these columns.
    queue = models.CharField(max_length=200, blank=True, db_default="")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    enqueue_count = models.PositiveSmallIntegerField(default=0, db_default=0)
    soft_time_limit = models.PositiveIntegerField(null=True, blank=True)
    time_limit = models.PositiveIntegerField(null=True, blank=True)
    # The process that runs the job (Celery node name, host, pid): the one whose thread heart-beats.
    worker = models.CharField(max_length=200, blank=True)
    worker_host = models.CharField(max_length=200, blank=True, db_default="")
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    progress_unit = models.CharField(max_length=32, blank=True, db_default="")
    # What the job produced, for the job page: [{"label": ..., "url": ...}, ...]
    links = models.JSONField(default=list, blank=True, db_default=models.Value([], output_field=models.JSONField()))
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.kind_label} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("core:job_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in JOB_FINISHED

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def kind_label(self) -> str:
        handler = registry.get(self.kind)
        return handler.label if handler else self.kind

    @property
    def can_cancel(self) -> bool:
        return job_move_allowed(self.status, JobStatus.CANCELLED) and not self.cancel_requested

    @property
    def progress_text(self) -> str:
        """Progress for people: "21.4 MB of 21.4 MB", "3 of 10 threads", "3 of 10"."""
        done, total = self.progress_done, self.progress_total
        if not done and not total:
            return ""
        if self.progress_unit == "bytes":
            return f"{filesizeformat(done)} of {filesizeformat(total)}" if total else filesizeformat(done)
        unit = f" {self.progress_unit}" if self.progress_unit else ""
        if total:
            return f"{done:,} of {total:,}{unit}"
        return f"{done:,}{unit}"

    @property
    def step_label(self) -> str:
        """The current step while the job runs; once it has ended, how it ended (never a stale step)."""
        if self.status == JobStatus.QUEUED:
            return "Waiting for a worker"
        if self.status == JobStatus.RUNNING:
            return self.progress_message or "Running"
        if self.status == JobStatus.SUCCEEDED:
            return "Finished"
        return self.get_status_display()

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    @property
    def waited_seconds(self) -> float:
        """How long a queued job has waited since it was last sent to the queue."""
        return (timezone.now() - (self.enqueued_at or self.created_at)).total_seconds()


class WorkerHeartbeat(models.Model):
    """Written every few seconds by each live Celery worker; the system page and the job reaper read it."""

    hostname = models.CharField(max_length=200, unique=True)
    pid = models.PositiveIntegerField(default=0)
    broker = models.CharField(max_length=32, blank=True)
    # Comma-separated queue names the worker consumes; the job page uses it to say who could pick a job up.
    queues = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.hostname

    @property
    def queue_names(self) -> list[str]:
        return [q for q in self.queues.split(",") if q]
