"""Roll back backfilled threads: delete the conversation's items, then the conversation (audited per thread).

``DELETE /conversations/{id}`` keeps the items, so items go first. Deletes are safe to repeat (a lost answer
is followed by a 404 that means "already gone"). The row is leased while it is rolled back so no executor
writes to a conversation being deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from migrator.backfill.models import THREAD_TRANSITIONS, ThreadBackfill, ThreadStatus
from migrator.backfill.services.calls import Caller, GaveUp, Refused
from migrator.backfill.services.execution import lease_seconds, new_token
from migrator.core.actors import require, system
from migrator.core.services import audit
from migrator.core.status import move

ROLLBACK_PERM = "backfill.rollback_backfill"
ROLLABLE = tuple(s for s, moves in THREAD_TRANSITIONS.items() if ThreadStatus.ROLLED_BACK in moves)


def _lock(row: ThreadBackfill, token: str) -> bool:
    now = timezone.now()
    return bool(ThreadBackfill.objects.filter(pk=row.pk, status__in=ROLLABLE).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
        lease_token=token, lease_until=now + timedelta(seconds=lease_seconds())))


def rollback_rows(*, actor, rows: Iterable[ThreadBackfill], progress: Callable[[int, str], None] = lambda n, m: None,
                  caller_for: Callable[[Any], Caller] | None = None) -> dict[str, Any]:
    """Roll back each done or failed row; returns counts and what could not be rolled back and why."""
    require(actor, ROLLBACK_PERM, action="roll back a backfill")
    callers: dict[int, Caller] = {}
    result: dict[str, Any] = {"rolled_back": 0, "items_deleted": 0, "not_rolled_back": [], "threads": []}
    for n, row in enumerate(rows, 1):
        row = ThreadBackfill.objects.select_related("thread", "connection").get(pk=row.pk)
        if row.status not in ROLLABLE:
            result["not_rolled_back"].append({"thread_id": row.thread.legacy_id,
                                              "why": f"it is {row.get_status_display().lower()}"})
            continue
        token = new_token("rollback")
        if not _lock(row, token):
            result["not_rolled_back"].append({"thread_id": row.thread.legacy_id,
                                              "why": "a worker is writing it right now; pause the run first"})
            continue
        caller = callers.get(row.connection_id)
        if caller is None:
            caller = callers[row.connection_id] = (caller_for or (lambda c: Caller(c)))(row.connection)
        deleted = 0
        gone = False
        try:
            if row.conversation_id:
                # A conversation deleted elsewhere (404) has nothing left to delete: the rollback still ends
                # the mapping, so production stops being pointed at a conversation that does not exist.
                items = caller.list_items(row.conversation_id, missing_ok=True)
                gone = items is None
                for item in items or []:
                    caller.delete_item(row.conversation_id, item["id"])
                    deleted += 1
                caller.delete_conversation(row.conversation_id)
        except (Refused, GaveUp) as exc:
            ThreadBackfill.objects.filter(pk=row.pk, lease_token=token).update(lease_token="", lease_until=None)
            result["not_rolled_back"].append({"thread_id": row.thread.legacy_id, "why": str(exc)})
            continue
        before = {"status": row.status, "conversation_id": row.conversation_id, "items": row.cursor}
        move(  # along THREAD_TRANSITIONS from done or failed, while we hold the lease
            row, ThreadStatus.ROLLED_BACK, where={"lease_token": token}, any_source=True,
            conversation_id="", cursor=0, lease_token="", lease_until=None,
            reason=(f"rolled back: {row.conversation_id} was already gone" if gone else
                    f"rolled back: {row.conversation_id or 'no conversation'} deleted ({deleted} item(s))"),
            finished_at=timezone.now(), updated_at=timezone.now())
        audit.record(actor=actor, verb="migrator.backfill.thread_rolled_back", obj=row, before=before,
                     after={"status": ThreadStatus.ROLLED_BACK, "items_deleted": deleted,
                            **({"conversation": "already gone"} if gone else {})})
        result["rolled_back"] += 1
        result["items_deleted"] += deleted
        result["threads"].append({"thread_id": row.thread.legacy_id, "conversation_id": before["conversation_id"],
                                  "items_deleted": deleted})
        progress(n, row.thread.legacy_id)
    for caller in callers.values():
        caller.close()
    return result


COMMAND_ACTOR = system("command:backfill", "the backfill command")
