"""What a job handler gets: its params, and ways to report progress, log lines and what it produced."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import F, Model, Value
from django.db.models.functions import Concat
from django.utils import timezone

from migrator.core.actors import actor_for_job
from migrator.core.jobs.registry import registry
from migrator.core.models import Job

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a handler when the user asked to cancel; the job ends as cancelled."""


class JobContext:
    """A handler's view of its job. It never saves the row; each call is one targeted UPDATE."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.params: dict[str, Any] = dict(job.params)
        handler = registry.get(job.kind)
        self._unit = handler.unit if handler else ""
        self._links: list[dict[str, str]] = list(job.links or [])

    @property
    def job_id(self) -> int:
        return self.job.pk

    @property
    def actor(self):
        """Who the job acts as: the person who started it, else the system actor ``job:<id>``."""
        return actor_for_job(self.job)

    def log(self, message: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        line = f"[{stamp}] {message}\n"
        Job.objects.filter(pk=self.job.pk).update(log=Concat(F("log"), Value(line)), heartbeat_at=timezone.now())
        logger.info("job %s: %s", self.job.pk, message)

    def progress(self, done: int, total: int | None = None, message: str | None = None, *, unit: str | None = None) -> None:
        """Record progress; also checks for a cancel request so long loops stop promptly.

        ``unit`` says what is counted ("bytes" is shown as "21.4 MB of 21.4 MB"); it defaults to the unit
        the handler declared.
        """
        fields: dict[str, Any] = {"progress_done": max(0, int(done)), "heartbeat_at": timezone.now(),
                                  "progress_unit": (self._unit if unit is None else unit)[:32]}
        if total is not None:
            fields["progress_total"] = max(0, int(total))
        if message is not None:
            fields["progress_message"] = message[:300]
        Job.objects.filter(pk=self.job.pk).update(**fields)
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled("Cancelled at the user's request.")

    def produced(self, obj: Model | str, label: str | None = None) -> None:
        """Name something this job produced (an object with ``get_absolute_url``, or a URL): the job page
        links to it. Links show up as soon as they are added, not only at the end."""
        url = obj if isinstance(obj, str) else obj.get_absolute_url()
        entry = {"label": (label or str(obj))[:300], "url": url}
        if entry not in self._links:
            self._links.append(entry)
            Job.objects.filter(pk=self.job.pk).update(links=self._links)
