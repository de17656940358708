"""Core job kinds."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from migrator.core.jobs.registry import job_handler

if TYPE_CHECKING:
    from migrator.core.jobs.context import JobContext


@job_handler("core.selftest", label="Worker self-test", soft_time_limit=300, time_limit=330, unit="steps")
def selftest(ctx: JobContext) -> dict:
    """Walks a few progress steps so the system page can prove a real worker picks jobs up.

    ``quiet_seconds`` adds one long step that reports nothing, as a slow API call or a big query would:
    the job stays alive through the heartbeat of the process running it, not through progress calls.
    """
    steps = int(ctx.params.get("steps", 3))
    delay = float(ctx.params.get("delay", 0.05))
    quiet = float(ctx.params.get("quiet_seconds", 0))
    ctx.progress(0, steps, "Starting")
    if quiet:
        deadline = time.monotonic() + quiet
        total = 0
        while time.monotonic() < deadline:  # real work (CPU), not a sleep, so the heartbeat must compete
            total += sum(i * i for i in range(2000))
        ctx.log(f"Quiet step of {quiet:g} s done.")
    for i in range(1, steps + 1):
        time.sleep(delay)
        ctx.progress(i, steps, f"Step {i} of {steps}")
    ctx.log(f"Self-test finished {steps} steps.")
    return {"steps": steps, "worker": ctx.job.worker}
