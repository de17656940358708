"""Backfill runs: create from a selection, start (fan out over Celery jobs), pause, resume, cancel, progress.

A run's coordinator job splits the run's unfinished threads into chunk jobs of ``BACKFILL_CHUNK_SIZE`` threads; each
chunk job claims its threads one by one (compare-and-set) and carries them through the exactly-once executor.
More workers take more chunk jobs at once, on any machine: the rate budget they share lives in Redis. Pause and
cancel are seen between threads; a resume starts a new coordinator for whatever is unfinished (threads held
by a dead worker are taken over when their lease expires).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from migrator.backfill.mapping import BATCH_SIZE, HOSTED_NOTE, HOSTED_TEXT, MARKERS_KEEP, MARKERS_STRIP
from migrator.backfill.models import (
    IN_FLIGHT,
    UNFINISHED,
    BackfillRun,
    RunStatus,
    ThreadBackfill,
    ThreadStatus,
)
from migrator.backfill.services.calls import Caller
from migrator.backfill.services.execution import Outcome, claim, execute_row, new_token
from migrator.backfill.services.selection import Selection, missing_thread_ids, selected_threads
from migrator.core.actors import require, user_or_none
from migrator.core.models import Assistant, Connection, Flow
from migrator.core.services import InvalidTransition, ServiceError, audit
from migrator.core.status import move, move_all

logger = logging.getLogger(__name__)



def chunk_size() -> int:
    from django.conf import settings

    return int(getattr(settings, "BACKFILL_CHUNK_SIZE", 25))

RUN_PERM = "backfill.run_backfill"


def clean_options(raw: dict[str, Any] | None) -> dict[str, str]:
    raw = raw or {}
    markers = raw.get("markers") or MARKERS_STRIP
    hosted = raw.get("hosted_tools") or HOSTED_NOTE
    if markers not in (MARKERS_STRIP, MARKERS_KEEP):
        raise ServiceError(f"Citation markers must be 'strip' or 'keep', not '{markers}'.")
    if hosted not in (HOSTED_NOTE, HOSTED_TEXT):
        raise ServiceError(f"Hosted-tool steps must be 'note' or 'text', not '{hosted}'.")
    return {"markers": markers, "hosted_tools": hosted}


def _move(run: BackfillRun, to: str, **fields: Any) -> None:
    """Along RUN_TRANSITIONS through core's helper; every caller holds the row locked, so the move cannot lose."""
    try:
        move(run, to, **fields)
    except InvalidTransition:
        raise InvalidTransition(f"{run} is {run.get_status_display().lower()}; it cannot become {to}.") from None


def _bank_active_time(run: BackfillRun) -> float:
    if run.status == RunStatus.RUNNING and run.started_at:
        return run.active_seconds + (timezone.now() - run.started_at).total_seconds()
    return run.active_seconds


# --- leases of dead command-line runs ------------------------------------------------------------------------


def _host_tag() -> str:
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def inline_owner() -> str:
    """The lease owner of ``manage.py backfill`` in this process: ``cli-<host>-<pid>`` (at most 20 characters), so
    a re-run on the same machine can tell that the process holding a lease is gone."""
    import os

    return f"cli-{_host_tag()}-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_inline_leases(connection: Connection) -> int:
    """Free the leases held by ``manage.py backfill`` processes of this machine that are gone (SIGKILL, a crash):
    a re-run takes their threads over at once instead of leaving them "appending" until the lease runs out."""
    prefix = f"cli-{_host_tag()}-"
    freed = 0
    rows = ThreadBackfill.objects.filter(connection=connection, status__in=UNFINISHED,
                                         lease_token__startswith=prefix, lease_until__gt=timezone.now())
    for pk, token in rows.values_list("pk", "lease_token"):
        pid = token[len(prefix):].split(":", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            # Compare-and-set on the token: a lease renewed or taken meanwhile is left alone.
            freed += ThreadBackfill.objects.filter(pk=pk, lease_token=token).update(lease_token="", lease_until=None)
    return freed


# --- create ---------------------------------------------------------------------------------------------------


def create_run(*, actor, connection: Connection, selection: Selection, options: dict[str, Any] | None = None,
               budget_calls: Any = None) -> BackfillRun:
    """A planned run owning every selected thread that is not done (nor held by a live worker elsewhere), with
    its projection and an optional hard budget of API calls."""
    require(actor, RUN_PERM, action="start a backfill")
    opts = clean_options(options)
    budget = parse_budget_calls(budget_calls)
    release_dead_inline_leases(connection)
    threads = selected_threads(selection, connection)
    missing = missing_thread_ids(selection)
    flow = Flow.objects.filter(slug=selection.flow).first() if selection.flow else None
    assistant = Assistant.objects.filter(legacy_id=selection.assistant).first() if selection.assistant else None
    now = timezone.now()
    with transaction.atomic():
        run = BackfillRun.objects.create(
            connection=connection, flow=flow, assistant=assistant, options=opts, created_by=user_or_none(actor),
            release_hash=_release_of(flow),
            selection={**selection.to_json(), **({"missing_thread_ids": missing[:50]} if missing else {})},
        )
        thread_ids = list(threads.values_list("id", flat=True))
        existing = {r.thread_id: r for r in ThreadBackfill.objects.filter(connection=connection,
                                                                          thread_id__in=thread_ids)}
        new_rows = [ThreadBackfill(connection=connection, thread_id=tid, run=run)
                    for tid in thread_ids if tid not in existing]
        ThreadBackfill.objects.bulk_create(new_rows, batch_size=500)
        take: list[int] = []
        restart: list[int] = []
        replan: list[int] = []
        for row in existing.values():
            if row.status == ThreadStatus.DONE:
                continue  # never written again
            if row.status in IN_FLIGHT and row.lease_until and row.lease_until > now:
                continue  # a live worker of another run holds it
            take.append(row.pk)
            if row.status == ThreadStatus.ROLLED_BACK:
                restart.append(row.pk)
            elif row.status in (ThreadStatus.FAILED, ThreadStatus.SKIPPED) and not row.conversation_id:
                replan.append(row.pk)
        earlier_runs = set(ThreadBackfill.objects.filter(pk__in=take).exclude(run=None).values_list("run_id", flat=True))
        ThreadBackfill.objects.filter(pk__in=take).update(run=run)
        # Back to pending along THREAD_TRANSITIONS (core's bulk move): rolled back, then failed or skipped
        # without a conversation (planned again), then failed with one.
        move_all(ThreadBackfill.objects.filter(pk__in=restart), ThreadStatus.PENDING,
                 conversation_id="", cursor=0, plan_items=[], plan_metadata={}, ledger=[], item_count=0, reason="",
                 finished_at=None, writes=0)
        move_all(ThreadBackfill.objects.filter(pk__in=replan), ThreadStatus.PENDING,
                 cursor=0, plan_items=[], plan_metadata={}, ledger=[], item_count=0, reason="", finished_at=None)
        # A failed thread that has a conversation keeps its frozen plan: the resume reads back and continues.
        move_all(ThreadBackfill.objects.filter(run=run, status=ThreadStatus.FAILED), ThreadStatus.PENDING,
                 reason="", finished_at=None)
        count = ThreadBackfill.objects.filter(run=run).count()
        messages = ThreadBackfill.objects.filter(run=run).aggregate(n=Sum("thread__message_count"))["n"] or 0
        run.thread_count = count
        run.planned_items = messages
        run.planned_calls = sum(max(1, math.ceil(max(n, 1) / BATCH_SIZE)) for n in ThreadBackfill.objects.filter(
            run=run).values_list("thread__message_count", flat=True))
        run.projection = project(run)
        run.budget_calls = budget
        run.save(update_fields=["thread_count", "planned_items", "planned_calls", "projection", "budget_calls"])
        for earlier in earlier_runs:
            # A command-line run whose process died stays "running"; with its threads taken over it is finished.
            transaction.on_commit(lambda pk=earlier: maybe_finish(pk))
        audit.record(actor=actor, verb="migrator.backfill.run_created", obj=run,
                     data={"connection": connection.name, "selection": run.selection, "options": opts,
                           "threads": count, "budget_calls": budget})
    return run


# --- lifecycle ------------------------------------------------------------------------------------------------


def start_run(*, actor, run: BackfillRun) -> BackfillRun:
    """Start (or resume) a run on the workers: one coordinator job fans the threads out into chunk jobs."""
    from migrator.core.services.jobs import start_job

    require(actor, RUN_PERM, action="start a backfill")
    with transaction.atomic():
        run = BackfillRun.objects.select_for_update().get(pk=run.pk)
        was = run.status
        _move(run, RunStatus.RUNNING, active_seconds=_bank_active_time(run), started_at=timezone.now(),
              finished_at=None)
        job = start_job(kind="backfill.run", actor=actor, params={"run_id": run.pk}, subject=run)
        run.job = job
        run.save(update_fields=["job"])
        audit.record(actor=actor, verb="migrator.backfill.run_started" if was == RunStatus.PLANNED
                     else "migrator.backfill.run_resumed", obj=run, data={"job": job.pk, "from": was})
    return run


resume_run = start_run


def pause_run(*, actor, run: BackfillRun) -> BackfillRun:
    return _stop(actor, run, RunStatus.PAUSED, "migrator.backfill.run_paused")


def cancel_run(*, actor, run: BackfillRun) -> BackfillRun:
    return _stop(actor, run, RunStatus.CANCELLED, "migrator.backfill.run_cancelled")


def _stop(actor, run: BackfillRun, to: str, verb: str) -> BackfillRun:
    require(actor, RUN_PERM, action="pause or cancel a backfill")
    with transaction.atomic():
        run = BackfillRun.objects.select_for_update().get(pk=run.pk)
        _move(run, to, active_seconds=_bank_active_time(run))
        audit.record(actor=actor, verb=verb, obj=run)
    return run


def maybe_finish(run_id: int) -> bool:
    """Mark the run finished once no thread of it is unfinished (any chunk job may be the last)."""
    with transaction.atomic():
        run = BackfillRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING or ThreadBackfill.objects.filter(run=run, status__in=UNFINISHED).exists():
            return False
        _move(run, RunStatus.FINISHED, finished_at=timezone.now(), active_seconds=_bank_active_time(run))
        counts = dict(ThreadBackfill.objects.filter(run=run).values_list("status").annotate(n=Count("id")))
        from migrator.core.actors import system

        audit.record(actor=system(f"backfill:{run.pk}", f"backfill #{run.pk}"), verb="migrator.backfill.run_finished",
                     obj=run, data={"threads": counts, "orphans": run.orphans, "calls": run.calls})
    return True


# --- work -----------------------------------------------------------------------------------------------------


def unfinished_row_ids(run: BackfillRun) -> list[int]:
    return list(ThreadBackfill.objects.filter(run=run, status__in=UNFINISHED).order_by("id").values_list("id", flat=True))


def dispatch(*, actor, run_id: int, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """The coordinator: one chunk job per BACKFILL_CHUNK_SIZE unfinished threads. Returns what it enqueued."""
    from migrator.core.services.jobs import start_job

    run = BackfillRun.objects.get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        return {"chunks": 0, "why": f"the run is {run.status}"}
    ids = unfinished_row_ids(run)
    if not ids:
        maybe_finish(run.pk)
        return {"chunks": 0, "threads": 0}
    size = chunk_size()
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    for n, chunk in enumerate(chunks, 1):
        start_job(kind="backfill.chunk", actor=actor, params={"run_id": run.pk, "row_ids": chunk, "chunk": n,
                                                             "chunks": len(chunks)},
                  subject=run, subject_label=f"{run} chunk {n}/{len(chunks)}")
    log(f"{len(ids)} thread(s) in {len(chunks)} chunk job(s) of up to {size}")
    return {"chunks": len(chunks), "threads": len(ids)}


def lanes() -> int:
    from django.conf import settings

    return int(getattr(settings, "BACKFILL_THREADS_PER_JOB", 4))


def process_rows(*, run_id: int, row_ids: list[int], owner: str,
                 progress: Callable[[int, int, str], None] = lambda d, t, m: None,
                 stop_when: Callable[[], bool] | None = None) -> dict[str, int]:
    """Claim and carry each row, ``BACKFILL_THREADS_PER_JOB`` threads at a time (the calls wait on the network,
    and the shared budget paces them all); rows leased by someone else are retried when their lease expires."""
    from django.db import close_old_connections

    from migrator.core.lanes import LanePool

    run = BackfillRun.objects.select_related("connection").get(pk=run_id)
    caller = Caller(run.connection, run_id=run.pk)
    outcomes: dict[str, int] = {}
    done = 0
    checked = {"at": 0.0, "running": True, "abort": False}

    def running() -> bool:
        # Seen about once a second: pause and cancel take effect between threads without a query per thread.
        if checked["abort"]:
            return False
        if time.monotonic() - checked["at"] >= 1.0 or run.budget_calls is not None:
            caller.flush()  # the calls so far, counted before the budget is read against them
            status = _budget_check(run_id)
            checked.update(at=time.monotonic(), running=status == RunStatus.RUNNING and not (stop_when and stop_when()))
        return bool(checked["running"])

    def one(row_id: int) -> tuple[str, str]:
        try:
            if not running():
                return "stopped", ""
            token = new_token(owner)
            row = claim(row_id, token, run_id=run_id)
            if row is None:
                held = ThreadBackfill.objects.filter(pk=row_id, run_id=run_id, status__in=UNFINISHED).exists()
                return ("held" if held else "gone"), ""
            outcome: Outcome = execute_row(row, caller, token)
            return outcome.status, row.thread.legacy_id
        finally:
            close_old_connections()

    def loop(pool: LanePool) -> bool:
        """Every row once, then again for those held by others; False when the run stopped."""
        nonlocal done
        waiting = list(row_ids)
        reported = 0.0
        while waiting:
            held: list[int] = []
            for row_id, (status, legacy_id) in zip(waiting, pool.map(one, waiting), strict=True):
                if status == "held":
                    held.append(row_id)
                    continue
                if status == "stopped":
                    continue
                done += 1
                if status != "gone":
                    outcomes[status] = outcomes.get(status, 0) + 1
                if time.monotonic() - reported >= 1.0 or done == len(row_ids):
                    reported = time.monotonic()
                    caller.flush()
                    progress(done, len(row_ids), f"{legacy_id}: {status}")
            if not running():
                return False
            if held:
                soonest = ThreadBackfill.objects.filter(pk__in=held).exclude(lease_until__isnull=True).order_by(
                    "lease_until").values_list("lease_until", flat=True).first()
                wait = (soonest - timezone.now()).total_seconds() if soonest else 0.5
                time.sleep(min(max(wait, 0.5), 5))
                progress(done, len(row_ids), f"waiting for {len(held)} thread(s) held by another worker")
            waiting = held
        return True

    # LanePool: the lanes' connections are closed when the pool ends, not kept for CONN_MAX_AGE (issue 21).
    with LanePool(max_workers=max(1, lanes()), thread_name_prefix="backfill") as pool:
        try:
            finished = loop(pool)
        except BaseException:
            checked["abort"] = True  # a cancelled job: the queued rows return at once instead of running
            raise
        finally:
            caller.flush()
            caller.close()
    if not finished:
        return {**outcomes, "stopped": 1}
    maybe_finish(run_id)
    return outcomes


MAX_AUTO_RESUMES = 5


# --- cost control -----------------------------------------------------------------------------------------------


def parse_budget_calls(value: Any) -> int | None:
    """A hard budget of API calls (None: no budget); refuses what is not a whole number above 0, saying so."""
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ServiceError(f"Budget {value!r} is not a number of API calls (for example 500).") from None
    if not 0 < number < 100_000_000:
        raise ServiceError(f"Budget {value!r} must be more than 0 and less than 100,000,000 calls.")
    return number


def project(run: BackfillRun) -> dict[str, Any]:
    """Requests and items from the plan, tokens from the recorded messages (four characters a token). The
    Conversations API's item writes have no price in the pricing table, so the cost is unknown, never guessed."""
    from django.db.models import TextField
    from django.db.models.functions import Cast, Length

    from migrator.inventory.models import LegacyMessage
    from migrator.validation import pricing

    chars = LegacyMessage.objects.filter(thread__backfills__run=run).aggregate(
        n=Sum(Length(Cast("content", TextField()))))["n"] or 0
    return {"requests": run.planned_calls, "items": run.planned_items, "input_tokens": int(chars) // 4,
            "output_tokens": 0, "cost_usd": None, "price": pricing.UNKNOWN, "priced_on": pricing.PRICED_ON,
            "note": "estimate: 4 characters a token; price unknown: the pricing table has no price for the "
                    "Conversations API's item writes, so a budget counts API calls"}


def _budget_check(run_id: int) -> str:
    """The run's status, after stopping it "budget reached" when its calls have reached its budget."""
    row = BackfillRun.objects.filter(pk=run_id).values("status", "calls", "budget_calls").first() or {}
    status = row.get("status", "")
    if status == RunStatus.RUNNING and row.get("budget_calls") is not None and row["calls"] >= row["budget_calls"]:
        with transaction.atomic():
            locked = BackfillRun.objects.select_for_update().get(pk=run_id)
            if locked.status == RunStatus.RUNNING:
                _move(locked, RunStatus.BUDGET_REACHED, active_seconds=_bank_active_time(locked))
                from migrator.core.actors import system

                audit.record(actor=system(f"backfill:{run_id}", f"backfill #{run_id}"),
                             verb="migrator.backfill.run_budget_reached", obj=locked,
                             data={"calls": locked.calls, "budget_calls": locked.budget_calls})
        status = RunStatus.BUDGET_REACHED
    return status


def set_budget(*, actor, run: BackfillRun, budget_calls: Any) -> BackfillRun:
    """A new call budget (None: none), e.g. to resume a run that reached its budget."""
    require(actor, RUN_PERM, action="change a backfill's budget")
    budget = parse_budget_calls(budget_calls)
    with transaction.atomic():
        BackfillRun.objects.filter(pk=run.pk).update(budget_calls=budget)
        audit.record(actor=actor, verb="migrator.backfill.run_budget_set", obj=run,
                     data={"before": run.budget_calls, "after": budget})
    run.refresh_from_db()
    return run


def resume_abandoned(*, job) -> BackfillRun | None:
    """A coordinator or chunk job of a running backfill ended without its handler (its worker was killed and the
    job reaped): send the same work again, so the run resumes by itself (threads the dead worker held are taken
    over when their lease expires). After MAX_AUTO_RESUMES such restarts the run is paused instead, saying why,
    so a worker that dies on every try does not loop forever."""
    from migrator.core.actors import actor_for_job, system
    from migrator.core.services.jobs import start_job

    params = dict(job.params or {})
    run = BackfillRun.objects.filter(pk=params.get("run_id")).first()
    if run is None or run.status != RunStatus.RUNNING:
        return run
    resumed = int(params.get("auto_resumed", 0)) + 1
    robot = system(f"backfill:{run.pk}", f"backfill #{run.pk}")
    if resumed > MAX_AUTO_RESUMES:
        with transaction.atomic():
            locked = BackfillRun.objects.select_for_update().get(pk=run.pk)
            if locked.status == RunStatus.RUNNING:
                _move(locked, RunStatus.PAUSED, active_seconds=_bank_active_time(locked))
                audit.record(actor=robot, verb="migrator.backfill.run_paused", obj=locked,
                             data={"why": f"its jobs' workers died {MAX_AUTO_RESUMES} times in a row; "
                                          f"last: job #{job.pk}: {job.error[:300]}"})
        return BackfillRun.objects.get(pk=run.pk)
    params["auto_resumed"] = resumed
    again = start_job(kind=job.kind, actor=actor_for_job(job), params=params, subject=run,
                      subject_label=job.subject_label or str(run))
    audit.record(actor=robot, verb="migrator.backfill.run_auto_resumed", obj=run,
                 data={"dead_job": job.pk, "new_job": again.pk, "kind": job.kind, "try": resumed})
    if job.kind == "backfill.run":
        BackfillRun.objects.filter(pk=run.pk).update(job=again)
    return run


def run_inline(*, actor, run: BackfillRun, progress: Callable[[int, int, str], None] = lambda d, t, m: None) -> BackfillRun:
    """Carry the whole run in this process (the ``backfill`` command): no Celery involved."""
    require(actor, RUN_PERM, action="run a backfill")
    with transaction.atomic():
        run = BackfillRun.objects.select_for_update().get(pk=run.pk)
        _move(run, RunStatus.RUNNING, active_seconds=_bank_active_time(run), started_at=timezone.now())
        audit.record(actor=actor, verb="migrator.backfill.run_started", obj=run, data={"inline": True})
    process_rows(run_id=run.pk, row_ids=unfinished_row_ids(run), owner=inline_owner(), progress=progress)
    run.refresh_from_db()
    return run


# --- progress -------------------------------------------------------------------------------------------------


def progress(run: BackfillRun) -> dict[str, Any]:
    """Everything the run page shows: threads by status, items, calls, rate, 429s, retries, ETA."""
    run.refresh_from_db()
    by_status = dict(ThreadBackfill.objects.filter(run=run).values_list("status").annotate(n=Count("id")))
    total = sum(by_status.values())
    finished = sum(by_status.get(s, 0) for s in (ThreadStatus.DONE, ThreadStatus.SKIPPED, ThreadStatus.FAILED,
                                                  ThreadStatus.ROLLED_BACK))
    remaining = ThreadBackfill.objects.filter(run=run, status__in=UNFINISHED)
    planned_left = remaining.filter(item_count__gt=0).aggregate(
        items=Sum(F("item_count") - F("cursor")))["items"] or 0
    unplanned_left = remaining.filter(item_count=0).aggregate(n=Sum("thread__message_count"))["n"] or 0
    calls_left = math.ceil(planned_left / BATCH_SIZE) + math.ceil(unplanned_left / BATCH_SIZE)
    elapsed = _bank_active_time(run)
    rate = run.calls / elapsed * 60 if elapsed > 1 else 0.0
    writes_rate = run.writes / elapsed * 60 if elapsed > 1 else 0.0
    eta = calls_left / writes_rate * 60 if writes_rate > 0 and run.status == RunStatus.RUNNING else None
    held = remaining.filter(status__in=IN_FLIGHT, lease_until__lt=timezone.now()).count()
    return {
        "status": run.status,
        "threads": {"total": total, "finished": finished, **{s.value: by_status.get(s.value, 0) for s in ThreadStatus}},
        "items": {"sent": run.items_sent, "left": planned_left + unplanned_left},
        "calls": run.calls, "writes": run.writes, "rate_limited": run.rate_limited, "retries": run.retries,
        "recoveries": run.recoveries, "orphans": run.orphans,
        "rate_per_minute": round(rate, 1), "elapsed_seconds": round(elapsed, 1),
        "eta_seconds": round(eta) if eta is not None else None,
        "percent": int(100 * finished / total) if total else 100,
        "stalled": held,
        "waited_seconds": round(run.waited_seconds, 1),
    }


def stale_in_flight(run: BackfillRun) -> int:
    """Threads left mid-write by a worker that stopped (their lease ran out): a resume takes them over."""
    return ThreadBackfill.objects.filter(run=run, status__in=IN_FLIGHT).filter(
        Q(lease_until__lt=timezone.now()) | Q(lease_until__isnull=True)).count()


def _release_of(flow: Flow | None) -> str:
    """The release the flow stands on now (its working release), so the run says what it was made for."""
    if flow is None or not flow.mode:
        return ""
    from migrator.cutover.services.releases import working_spec

    spec = working_spec(flow)
    return spec.hash if spec is not None else ""
