"""``manage.py backfill``: backfill archived threads into Conversations from the command line (exact contract).

    manage.py backfill --connection NAME (--all | --thread-ids FILE | --flow SLUG | --assistant ASST_ID)
                       [--since YYYY-MM-DD] [--tag T] [--min-messages N] [--dry-run] [--json]
    manage.py backfill rollback --connection NAME (same selection) [--json]

Runs in this process to the end (no Celery); a re-run resumes and never writes a finished thread again.
``--json`` prints one object: ``threads`` (``{thread_id, conversation_id, status, items, dropped}``, status
done | skipped | failed) and ``totals``. Exit 0 when every selected thread is done or skipped with a reason,
1 otherwise, 2 for bad input. A dry run prints the same shape with ``"dry_run": true``: there ``done`` means
the thread's plan is complete (its items are listed, nothing was sent, ``conversation_id`` is null), so a
script reads both with one set of statuses.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.backfill.models import ThreadBackfill, ThreadStatus
from migrator.backfill.services import dryrun
from migrator.backfill.services import rollback as rollback_service
from migrator.backfill.services.planning import options_from
from migrator.backfill.services.runs import create_run, run_inline
from migrator.backfill.services.selection import (
    Selection,
    missing_thread_ids,
    parse_thread_ids,
    selected_threads,
)
from migrator.core.actors import system
from migrator.core.models import Connection
from migrator.core.services import ServiceError

ACTOR = system("command:backfill", "the backfill command")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r} is not a date in the form YYYY-MM-DD.", returncode=2) from None


class Command(BaseCommand):
    help = "Backfill legacy threads into Conversations (or `backfill rollback ...` to undo), exactly once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["rollback"], help="rollback: delete what was backfilled")
        parser.add_argument("--connection", required=True, metavar="NAME")
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--all", action="store_true", help="every imported thread")
        scope.add_argument("--thread-ids", metavar="FILE", help="a file of thread ids (one a line, or CSV)")
        scope.add_argument("--flow", metavar="SLUG")
        scope.add_argument("--assistant", metavar="ASST_ID")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="threads active on or after this date")
        parser.add_argument("--tag", action="append", default=[], metavar="T", help="repeat for several tags")
        parser.add_argument("--min-messages", type=int, default=0, metavar="N")
        parser.add_argument("--dry-run", action="store_true", help="plan only: send nothing")
        parser.add_argument("--budget-calls", metavar="N",
                            help="stop cleanly ('budget reached') once the run has made N API calls; threads not "
                                 "carried stay pending, and running the command again carries on")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    # --- input ------------------------------------------------------------------------------------------------

    def _selection(self, options: dict[str, Any]) -> Selection:
        ids: list[str] = []
        if options["thread_ids"]:
            path = Path(options["thread_ids"])
            try:
                ids = parse_thread_ids(path.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"--thread-ids {path}: cannot read it ({exc}).", returncode=2) from None
            if not ids:
                raise CommandError(f"--thread-ids {path}: no thread ids in it.", returncode=2)
        if options["min_messages"] < 0:
            raise CommandError("--min-messages must be 0 or more.", returncode=2)
        selection = Selection(all=options["all"], flow=options["flow"] or "", assistant=options["assistant"] or "",
                              thread_ids=ids, since=_date(options["since"]) if options["since"] else None,
                              tags=[t for t in options["tag"] if t], min_messages=options["min_messages"],
                              include_done=True)
        try:
            selection.validate()
        except ServiceError as exc:
            raise CommandError(str(exc), returncode=2) from None
        return selection

    def handle(self, *args, **options) -> None:
        connection = Connection.objects.filter(name=options["connection"]).first()
        if connection is None:
            raise CommandError(f"There is no connection named {options['connection']!r} "
                               "(create it with `manage.py connection add`).", returncode=2)
        selection = self._selection(options)
        if options["action"] == "rollback":
            if options["dry_run"]:
                raise CommandError("--dry-run does not apply to rollback.", returncode=2)
            report = self._rollback(connection, selection)
        elif options["dry_run"]:
            report = self._plan(connection, selection)
        else:
            report = self._run(connection, selection, quiet=options["json"], budget_calls=options["budget_calls"])
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            self._print(report)
        ok_statuses = {"done", "skipped", "rolled_back"}
        if any(t["status"] not in ok_statuses for t in report["threads"]):
            sys.exit(1)

    # --- the three actions ------------------------------------------------------------------------------------

    def _missing(self, selection: Selection) -> list[dict[str, Any]]:
        return [{"thread_id": t, "conversation_id": None, "status": "failed", "items": 0, "dropped": [],
                 "reason": "not in the inventory; import the thread first"} for t in missing_thread_ids(selection)]

    def _plan(self, connection: Connection, selection: Selection) -> dict[str, Any]:
        threads: list[dict[str, Any]] = []
        options = options_from(None, marker=f"backfill:{connection.pk}")
        walked = selected_threads(selection, connection).iterator(chunk_size=500)
        for planned in dryrun.dry_run(walked, options=options, done=dryrun.done_rows(connection)):
            # "done": planned in full (the contract's statuses are done, skipped and failed; dry_run says nothing
            # was sent).
            entry: dict[str, Any] = {"thread_id": planned.thread.legacy_id, "conversation_id": None, "status": "done",
                                     "items": 0, "dropped": []}
            row, plan = planned.done_row, planned.plan
            if planned.outcome == dryrun.ALREADY and row is not None:
                entry.update({"status": "skipped", "conversation_id": row.conversation_id, "items": row.cursor,
                              "dropped": row.dropped, "reason": planned.reason})
            elif planned.outcome in (dryrun.SKIPPED, dryrun.FAILED):
                entry.update({"status": planned.outcome, "reason": planned.reason})
            elif plan is not None:
                entry.update(items=len(plan.items), dropped=plan.dropped, calls=plan.batches,
                             changed=[e.as_dict() for e in plan.ledger if e.kind == "changed"],
                             metadata=plan.metadata, plan=plan.items)
                if not plan.items:
                    entry.update({"status": "skipped", "reason": "nothing in the thread can be carried"})
            threads.append(entry)
        threads += self._missing(selection)
        totals = self._count(threads)
        totals.update(items=sum(t["items"] for t in threads if t["status"] == "done"),
                      calls=sum(t.get("calls", 0) for t in threads), writes=0)
        return {"connection": connection.name, "dry_run": True, "selection": selection.to_json(),
                "threads": threads, "totals": totals}

    def _run(self, connection: Connection, selection: Selection, *, quiet: bool, budget_calls: Any = None
             ) -> dict[str, Any]:
        try:
            run = create_run(actor=ACTOR, connection=connection, selection=selection, budget_calls=budget_calls)
        except ServiceError as exc:
            raise CommandError(str(exc), returncode=2) from None

        def say(done: int, total: int, message: str) -> None:
            if not quiet:
                self.stderr.write(f"[{done}/{total}] {message}")

        if run.thread_count:
            run = run_inline(actor=ACTOR, run=run, progress=say)
        rows = ThreadBackfill.objects.filter(connection=connection, thread__in=selected_threads(selection, connection))
        threads = []
        for row in rows.select_related("thread").order_by("id"):
            status = row.status if row.status in (ThreadStatus.DONE, ThreadStatus.SKIPPED) else "failed"
            entry = {"thread_id": row.thread.legacy_id, "conversation_id": row.conversation_id or None,
                     "status": status, "items": row.cursor, "dropped": row.dropped}
            if row.reason or status == "failed":
                entry["reason"] = row.reason or f"left {row.get_status_display().lower()}; run the command again"
            threads.append(entry)
        threads += self._missing(selection)
        totals = self._count(threads)
        totals.update(items=sum(t["items"] for t in threads), calls=run.calls, writes=run.writes,
                      rate_limited=run.rate_limited, retries=run.retries, orphans=run.orphans)
        if run.budget_calls is not None:
            totals.update(budget_calls=run.budget_calls, budget_reached=run.status == "budget_reached")
        return {"connection": connection.name, "dry_run": False, "run_id": run.pk, "selection": selection.to_json(),
                "threads": threads, "totals": totals}

    def _rollback(self, connection: Connection, selection: Selection) -> dict[str, Any]:
        rows = list(ThreadBackfill.objects.filter(
            connection=connection, thread__in=selected_threads(selection, connection)).select_related("thread"))
        rollable = [r for r in rows if r.status in rollback_service.ROLLABLE]
        result = rollback_service.rollback_rows(actor=ACTOR, rows=rollable)
        done = {t["thread_id"]: t for t in result["threads"]}
        refused = {t["thread_id"]: t["why"] for t in result["not_rolled_back"]}
        threads = []
        for row in rows:
            tid = row.thread.legacy_id
            if tid in done:
                threads.append({"thread_id": tid, "conversation_id": done[tid]["conversation_id"] or None,
                                "status": "rolled_back", "items": done[tid]["items_deleted"], "dropped": []})
            elif tid in refused:
                threads.append({"thread_id": tid, "conversation_id": row.conversation_id or None, "status": "failed",
                                "items": 0, "dropped": [], "reason": refused[tid]})
            else:
                threads.append({"thread_id": tid, "conversation_id": row.conversation_id or None, "status": "skipped",
                                "items": 0, "dropped": [],
                                "reason": f"nothing to roll back (it is {row.get_status_display().lower()})"})
        totals = self._count(threads)
        totals["items_deleted"] = result["items_deleted"]
        return {"connection": connection.name, "rollback": True, "selection": selection.to_json(),
                "threads": threads, "totals": totals}

    @staticmethod
    def _count(threads: list[dict[str, Any]]) -> dict[str, Any]:
        counts: dict[str, Any] = {"selected": len(threads)}
        for t in threads:
            counts[t["status"]] = counts.get(t["status"], 0) + 1
        for key in ("done", "skipped", "failed"):
            counts.setdefault(key, 0)
        return counts

    def _print(self, report: dict[str, Any]) -> None:
        for t in report["threads"]:
            line = f"{t['thread_id']}  {t['status']:<11} {t.get('conversation_id') or '-':<40} {t['items']} item(s)"
            if t.get("dropped"):
                line += f", {len(t['dropped'])} not carried"
            if t.get("reason"):
                line += f"  ({t['reason']})"
            self.stdout.write(line)
        totals = ", ".join(f"{k} {v}" for k, v in report["totals"].items())
        self.stdout.write(("Dry run (nothing sent): " if report.get("dry_run") else "") + totals)
