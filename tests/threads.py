"""A job run in a thread of the test process, as a worker would run it."""

from __future__ import annotations

import threading


def job_thread(job_id: int) -> threading.Thread:
    """Start ``execute_job(job_id)`` in a thread that closes its database connection when it ends.

    Django opens one connection per thread and nothing closes it when the thread ends: on PostgreSQL the leftover
    session then keeps the test database from being dropped ("is being accessed by other users")."""
    from django.db import connections

    from migrator.core.services.jobs import execute_job

    def run() -> None:
        try:
            execute_job(job_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=f"test-job-{job_id}")
    thread.start()
    return thread
