"""Exactly-once, resumable backfill of one thread.

The ``ThreadBackfill`` row is the truth. A worker claims it with a compare-and-set UPDATE (status unfinished and
lease free or expired → its lease token); every later change is a compare-and-set on that token, so a worker
that lost its lease can never overwrite another's progress. Before each call the lease is renewed; the lease
(``BACKFILL_LEASE_SECONDS``) is renewed after the rate budget's wait, right before each write, and outlives one
call's timeout several times, so a slow worker's write cannot overlap a successor's.

1. Plan (first claim only): the items are frozen on the row, so a resume compares against the same plan.
2. ``creating`` is recorded *before* ``POST /conversations`` is sent (with the first ≤ 20 items and a metadata
   marker); the conversation id is saved the moment the answer names it. A create whose answer is lost (or a
   worker that died in ``creating``) leaves a conversation no one can find again (there is no list endpoint):
   it is counted as an orphan and the create is sent again.
3. ``appending``: batches of ≤ 20 advance ``cursor``. After a timeout, 5xx or dropped connection the
   conversation's items are read back and compared with the plan by fingerprint; the cursor moves to what is
   really there and only the rest is sent. Items that are not the plan's stop the thread (failed) rather than
   guess.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from migrator.backfill.mapping import BATCH_SIZE, MalformedThread, fingerprint
from migrator.backfill.models import UNFINISHED, ThreadBackfill, ThreadStatus
from migrator.backfill.services.calls import Caller, GaveUp, Refused, Unknown, write_timeout
from migrator.backfill.services.planning import NothingToCarry, options_from, plan_for
from migrator.core.status import move

logger = logging.getLogger(__name__)

MAX_UNKNOWN_OUTCOMES = 8  # per thread and attempt: beyond that the API is too unhealthy; resume later


def lease_seconds() -> int:
    return int(getattr(settings, "BACKFILL_LEASE_SECONDS", 120))


def new_token(owner: str = "") -> str:
    return f"{owner[:20]}:{uuid.uuid4().hex}" if owner else uuid.uuid4().hex


@dataclass
class Outcome:
    status: str
    reason: str = ""


class LeaseLost(Exception):
    """Another worker took the thread over (our lease expired): stop touching it."""


class ThreadWorker:
    def __init__(self, row: ThreadBackfill, caller: Caller, token: str) -> None:
        self.row = row
        self.caller = caller
        self.token = token
        self.unknown = 0
        self.fresh_create = False  # "creating" was just recorded with the plan: no earlier create to count
        self.done_fields: dict[str, Any] = {}

    # --- guarded updates --------------------------------------------------------------------------------------

    def _update(self, status: str | None = None, **fields: Any) -> None:
        """Compare-and-set on our lease token (and, for a status move, on the status along THREAD_TRANSITIONS
        through core's helper); raises LeaseLost when someone else holds the row now."""
        fields.setdefault("lease_until", timezone.now() + timedelta(seconds=lease_seconds()))
        fields["updated_at"] = timezone.now()
        if status is not None:
            done = move(self.row, status, where={"lease_token": self.token}, **fields)
        else:
            done = ThreadBackfill.objects.filter(pk=self.row.pk, lease_token=self.token).update(**fields)
        if not done:
            raise LeaseLost(f"thread {self.row.thread.legacy_id}: lease taken over by another worker")
        for key, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self.row, key, value)

    def _renew(self) -> None:
        """Renew the lease after the budget's wait, right before a write goes (LeaseLost if it was taken).

        A lease with more than two call time-outs left (claimed or written a moment ago, no long wait since) is
        not written again: nobody can take it before it runs out, and the write ends before that either way.
        That spares most threads one UPDATE per write."""
        left = (self.row.lease_until - timezone.now()).total_seconds() if self.row.lease_until else 0.0
        if left > 2 * write_timeout():
            return
        self._update()

    def _finish(self, status: str, reason: str = "", **extra: Any) -> Outcome:
        self._update(status=status, reason=reason[:2000], lease_token="", lease_until=None,
                     finished_at=timezone.now(), **extra)
        return Outcome(status, reason)

    def _orphan(self) -> None:
        ThreadBackfill.objects.filter(pk=self.row.pk).update(orphans=F("orphans") + 1)
        self.caller._count(orphans=1)

    def _unknown(self, exc: Exception) -> None:
        self.unknown += 1
        self.caller._count(retries=1)
        if self.unknown > MAX_UNKNOWN_OUTCOMES:
            raise GaveUp(f"{self.unknown} writes with unknown outcomes in a row (last: {exc})")

    # --- the steps --------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        row = self.row
        if not row.plan_items and row.status == ThreadStatus.PENDING:
            try:
                plan = plan_for(row.thread, options_from(row.run.options, marker=f"backfill:{row.connection_id}"))
            except NothingToCarry as exc:
                return self._finish(ThreadStatus.SKIPPED, str(exc))
            except MalformedThread as exc:
                return self._finish(ThreadStatus.FAILED, str(exc))
            if not plan.items:
                self._update(ledger=[e.as_dict() for e in plan.ledger])
                return self._finish(ThreadStatus.SKIPPED, "nothing in the thread can be carried (see the ledger)")
            # The plan and "creating" in one write: both are recorded before the create is sent.
            self._update(plan_items=plan.items, plan_metadata=plan.metadata,
                         ledger=[e.as_dict() for e in plan.ledger], item_count=len(plan.items),
                         status=ThreadStatus.CREATING)
            self.fresh_create = True
        items = row.plan_items
        try:
            if row.conversation_id:
                # A resume (a killed worker, a failed or paused thread): the last write's fate may be unknown,
                # so read back before sending anything.
                self.recover(items)
            while not row.conversation_id:
                if not self._create(items):
                    continue
            while row.cursor < len(items):
                self._append(items)
        except Refused as exc:
            return self._finish(ThreadStatus.FAILED, f"the API refused a write: {exc}")
        except Inconsistent as exc:
            return self._finish(ThreadStatus.FAILED, str(exc))
        return self._finish(ThreadStatus.DONE, **self.done_fields)

    def _create(self, items: list[dict[str, Any]]) -> bool:
        row = self.row
        if self.fresh_create:
            self.fresh_create = False
        else:
            if row.status == ThreadStatus.CREATING:
                # A previous attempt sent (or may have sent) a create whose answer never came back.
                self._orphan()
            self._update(status=ThreadStatus.CREATING)
        batch = items[:BATCH_SIZE]
        try:
            conv = self.caller.create_conversation(batch, row.plan_metadata, before_send=self._renew)
        except Unknown as exc:
            self._orphan()
            self._update(status=ThreadStatus.PENDING)  # nothing of ours is reachable: start over cleanly
            self._unknown(exc)
            return False
        self.caller._count(items_sent=len(batch))
        if len(batch) == len(items):
            # The whole thread went with the create: its id and "done" are stored in one write (by run()).
            self.done_fields = {"conversation_id": conv.id, "cursor": len(batch), "writes": F("writes") + 1}
            row.conversation_id, row.cursor = conv.id, len(batch)
            return True
        self._update(conversation_id=conv.id, cursor=len(batch), status=ThreadStatus.APPENDING,
                     writes=F("writes") + 1)
        return True

    def _append(self, items: list[dict[str, Any]]) -> None:
        row = self.row
        batch = items[row.cursor:row.cursor + BATCH_SIZE]
        try:
            self.caller.add_items(row.conversation_id, batch, before_send=self._renew)
        except Unknown as exc:
            self._unknown(exc)
            self.recover(items)
            return
        except Refused as exc:
            if exc.status == 404:
                raise Inconsistent(f"conversation {row.conversation_id} no longer exists (deleted outside "
                                   "migrator?); roll the thread back to backfill it again") from exc
            raise
        self._update(cursor=row.cursor + len(batch), writes=F("writes") + 1)
        self.caller._count(items_sent=len(batch))

    def recover(self, items: list[dict[str, Any]]) -> None:
        """Read the conversation back and move the cursor to what is really there (never past a mismatch)."""
        row = self.row
        self.caller._count(recoveries=1)
        try:
            held = self.caller.list_items(row.conversation_id)
        except Refused as exc:
            if exc.status == 404:
                raise Inconsistent(f"conversation {row.conversation_id} no longer exists") from exc
            raise
        if held is None:
            raise Inconsistent(f"conversation {row.conversation_id} no longer exists")
        if len(held) > len(items):
            raise Inconsistent(f"conversation {row.conversation_id} holds {len(held)} items but the plan has "
                               f"{len(items)}; it was written outside this backfill")
        for i, item in enumerate(held):
            if fingerprint(item) != fingerprint(items[i]):
                raise Inconsistent(f"conversation {row.conversation_id} item {i} ({item.get('id')}) is not the "
                                   "planned item; it was written outside this backfill")
        before = row.cursor
        self._update(cursor=len(held), status=ThreadStatus.APPENDING)
        if len(held) > before:  # the write whose answer was lost did happen: count it as the committed write
            ThreadBackfill.objects.filter(pk=row.pk).update(writes=F("writes") + 1)
            self.caller._count(items_sent=len(held) - before)


class Inconsistent(Exception):
    """The conversation does not hold what the plan says it should: stop, never guess."""


# --- claiming -------------------------------------------------------------------------------------------------


def claim(row_id: int, token: str, *, run_id: int | None = None) -> ThreadBackfill | None:
    """Compare-and-set: take an unfinished row whose lease is free or expired. None when someone else has it."""
    now = timezone.now()
    qs = ThreadBackfill.objects.filter(pk=row_id, status__in=UNFINISHED).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    updated = qs.update(lease_token=token, lease_until=now + timedelta(seconds=lease_seconds()),
                        attempts=F("attempts") + 1, updated_at=now)
    if not updated:
        return None
    return ThreadBackfill.objects.select_related("thread", "run", "connection").get(pk=row_id)


def execute_row(row: ThreadBackfill, caller: Caller, token: str) -> Outcome:
    """Carry one claimed thread to done, skipped or failed; on GaveUp/LeaseLost leave it for a resume."""
    worker = ThreadWorker(row, caller, token)
    try:
        return worker.run()
    except GaveUp as exc:
        ThreadBackfill.objects.filter(pk=row.pk, lease_token=token).update(
            lease_token="", lease_until=None, reason=f"paused after: {exc}"[:2000])
        return Outcome(row.status, f"left for a resume: {exc}")
    except LeaseLost as exc:
        logger.warning("%s", exc)
        return Outcome("lost", str(exc))
    except Exception:
        # Our bug or the database: release the lease so a resume can pick the thread up at once.
        ThreadBackfill.objects.filter(pk=row.pk, lease_token=token).update(lease_token="", lease_until=None)
        raise
