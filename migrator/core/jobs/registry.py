"""The registry of background job kinds.

Each app declares its handlers in ``<app>/jobs.py``::

    @job_handler("app.kind", label="Do the thing", soft_time_limit=600, time_limit=660, unit="bytes")
    def do_the_thing(ctx: JobContext) -> dict: ...

A handler receives a ``JobContext`` and returns a JSON-able result dict. Time limits default to
``JOB_SOFT_TIME_LIMIT_SECONDS`` / ``JOB_TIME_LIMIT_SECONDS``; ``unit`` names what ``ctx.progress`` counts
("bytes" is shown as "21.4 MB of 21.4 MB"). This module imports no models, so anything may import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrator.core.jobs.context import JobContext


@dataclass(frozen=True)
class JobHandler:
    kind: str
    label: str
    func: Callable[[JobContext], dict[str, Any] | None]
    soft_time_limit: int | None = None
    time_limit: int | None = None
    unit: str = ""
    # Called with the Job when it ends without its handler ending it (its process was killed and the job reaped,
    # it was never picked up, or it was cancelled while queued): put what the job owned into a clear state
    # (a run it carried, files it would have removed). Must be idempotent; errors are logged, not raised.
    on_abandoned: Callable[[Any], None] | None = None

    def limits(self) -> tuple[int | None, int]:
        """(soft, hard) seconds for this kind: its own declaration, else the settings' defaults."""
        from django.conf import settings

        hard = self.time_limit or settings.JOB_TIME_LIMIT_SECONDS
        soft = self.soft_time_limit or settings.JOB_SOFT_TIME_LIMIT_SECONDS
        if soft >= hard:
            # A kind that declares a short hard limit only: a default soft limit above it would never fire.
            soft = None if self.soft_time_limit is None else hard - 1
        return soft, hard


registry: dict[str, JobHandler] = {}


def job_handler(
    kind: str,
    *,
    label: str,
    soft_time_limit: int | None = None,
    time_limit: int | None = None,
    unit: str = "",
    on_abandoned: Callable[[Any], None] | None = None,
) -> Callable:
    if soft_time_limit is not None and time_limit is not None and soft_time_limit >= time_limit:
        raise ValueError(f"Job kind {kind!r}: soft_time_limit ({soft_time_limit}) must be below time_limit ({time_limit}).")
    for name, value in (("soft_time_limit", soft_time_limit), ("time_limit", time_limit)):
        if value is not None and value < 1:
            raise ValueError(f"Job kind {kind!r}: {name} must be at least 1 second.")

    def decorate(func: Callable[[JobContext], dict[str, Any] | None]) -> Callable:
        existing = registry.get(kind)
        if existing is not None and existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"Job kind {kind!r} is registered twice ({existing.func.__module__} and {func.__module__}).")
        registry[kind] = JobHandler(kind=kind, label=label, func=func, soft_time_limit=soft_time_limit,
                                    time_limit=time_limit, unit=unit, on_abandoned=on_abandoned)
        return func

    return decorate
