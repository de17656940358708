"""Core job kinds."""

from __future__ import annotations

import time

from migrator.core.jobs import job_handler
from migrator.core.services.jobs import JobContext


@job_handler("core.selftest", label="Worker self-test")
def selftest(ctx: JobContext) -> dict:
    """Walks a few progress steps so the system page can prove a real worker picks jobs up."""
    steps = int(ctx.params.get("steps", 3))
    delay = float(ctx.params.get("delay", 0.05))
    ctx.progress(0, steps, "starting")
    for i in range(1, steps + 1):
        time.sleep(delay)
        ctx.progress(i, steps, f"step {i} of {steps}")
    ctx.log(f"Self-test finished {steps} steps.")
    return {"steps": steps, "worker": ctx.job.worker}
