"""The dry run: what each selected thread would become, without sending or storing anything. One service that
the plan page and ``manage.py backfill --dry-run`` both walk, so they cannot disagree about a thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from migrator.backfill.mapping import MalformedThread, Options, Plan
from migrator.backfill.models import ThreadBackfill, ThreadStatus
from migrator.backfill.services.planning import NothingToCarry, plan_for
from migrator.core.models import Connection
from migrator.inventory.models import LegacyThread

PLANNED, ALREADY, SKIPPED, FAILED = "planned", "already", "skipped", "failed"


@dataclass
class ThreadPlan:
    thread: LegacyThread
    outcome: str  # PLANNED, ALREADY (backfilled before on this connection), SKIPPED or FAILED
    plan: Plan | None = None
    reason: str = ""
    done_row: ThreadBackfill | None = None  # the earlier backfill, for ALREADY


def done_rows(connection: Connection) -> dict[int, ThreadBackfill]:
    """The threads already backfilled on ``connection``, by thread id."""
    return {r.thread_id: r for r in ThreadBackfill.objects.filter(connection=connection, status=ThreadStatus.DONE)}


def dry_run(threads: Iterable[LegacyThread], *, options: Options,
            done: dict[int, ThreadBackfill]) -> Iterator[ThreadPlan]:
    """Each thread's plan, in order: already backfilled, planned (with what is changed or dropped), or why it
    would be skipped or fail. Reads only; nothing is sent or written."""
    for thread in threads:
        row = done.get(thread.pk)
        if row is not None:
            yield ThreadPlan(thread, ALREADY, done_row=row,
                             reason=f"already backfilled into {row.conversation_id}")
            continue
        try:
            plan = plan_for(thread, options)
        except NothingToCarry as exc:
            yield ThreadPlan(thread, SKIPPED, reason=str(exc))
        except MalformedThread as exc:
            yield ThreadPlan(thread, FAILED, reason=str(exc))
        else:
            yield ThreadPlan(thread, PLANNED, plan=plan)
