"""Job kinds with tiny time limits, for tests that run them in a real worker."""

from __future__ import annotations

import time
from pathlib import Path

from migrator.core.jobs.context import JobContext
from migrator.core.jobs.registry import job_handler
from migrator.core.services import ServiceError


@job_handler("tests.sleepy", label="Sleep past a soft limit", soft_time_limit=1, time_limit=20)
def sleepy(ctx: JobContext) -> dict:
    ctx.progress(0, 1, "Sleeping")
    deadline = time.monotonic() + float(ctx.params.get("seconds", 10))
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return {"slept": True}


@job_handler("tests.stubborn", label="Ignore the soft limit", time_limit=2)
def stubborn(ctx: JobContext) -> dict:
    ctx.progress(0, 1, "Sleeping through every signal it can")
    deadline = time.monotonic() + float(ctx.params.get("seconds", 30))
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except Exception:  # deliberately swallows SoftTimeLimitExceeded: only a kill stops it
            continue
    return {"slept": True}


@job_handler("tests.produces", label="Produce two things", unit="bytes")
def produces(ctx: JobContext) -> dict:
    ctx.progress(22407093, 22407093, "Writing")
    ctx.produced("/assistants/", "All assistants")
    ctx.produced("/jobs/", "The job list")
    return {"ok": True}


@job_handler("tests.until_file", label="Run until a file appears", time_limit=300)
def until_file(ctx: JobContext) -> dict:
    """Runs for as long as a test needs (e.g. through broker restarts), then ends when the test says so."""
    ctx.progress(0, 1, "Waiting for the file")
    path = Path(ctx.params["path"])
    deadline = time.monotonic() + float(ctx.params.get("seconds", 240))
    while not path.exists():
        if time.monotonic() > deadline:
            raise ServiceError(f"{path} never appeared")
        time.sleep(0.1)
    return {"waited": True}
