"""``manage.py tooltest --assistant ASST_ID [--tool KEY ...] [--connection NAME] --by USER [--sync] [--json]``.

The command door of the Tools tab's *Test this tool*: the same service queues one ``tools.test_tool`` job per
tool (every tool of the current configuration when no ``--tool`` is given), acting as the named user with their
permissions. ``--sync`` runs the jobs in this process and reports their outcome; without it the workers do, and
the job ids are printed. Exits 1 when a test ran and did not pass.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.management import lookups
from migrator.core.services import ServiceError
from migrator.core.services.jobs import run_job_now
from migrator.tools import services as tool_services
from migrator.tools import toolset


class Command(BaseCommand):
    help = "Test an assistant's tools against a connection (as the Tools tab does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--assistant", required=True, metavar="ASST_ID", help="The legacy assistant id (asst_…).")
        parser.add_argument("--tool", action="append", default=[], dest="tools", metavar="KEY",
                            help="A tool key as the Tools tab shows it (repeat); default: every tool.")
        parser.add_argument("--connection", metavar="NAME", help="The connection to test on (default: the Sandbox).")
        parser.add_argument("--by", required=True, metavar="USER", help="Act as this user, with their permissions.")
        parser.add_argument("--sync", action="store_true", help="Run the tests here and report their outcome.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        user = lookups.active_user(options["by"])
        assistant = lookups.assistant(options["assistant"])
        connection_id = None
        if options["connection"]:
            connection = lookups.connection(options["connection"])
            connection_id = connection.pk
        keys = options["tools"] or [r.key for r in toolset.tool_rows(assistant, toolset.latest_version(assistant))]
        if not keys:
            raise CommandError(f"{assistant.display_name} has no tools to test.")
        rows = []
        for key in keys:
            try:
                job = tool_services.start_tool_test(assistant_id=assistant.pk, tool_key=key, actor=user,
                                                    connection_id=connection_id)
            except ServiceError as exc:
                raise CommandError(f"Refused: {exc}") from exc
            if options["sync"]:
                job = run_job_now(job) or job
                job.refresh_from_db()
            result = job.result if isinstance(job.result, dict) else {}
            rows.append({"tool": key, "job": job.pk, "status": job.status, "outcome": result.get("status"),
                         "summary": result.get("summary") or job.error or ""})
        failed = [r for r in rows if r["status"] == "failed" or r["outcome"] not in (None, "passed")]
        if options["json"]:
            self.stdout.write(json.dumps({"assistant": assistant.legacy_id, "tests": rows}, indent=2))
        else:
            for r in rows:
                state = r["outcome"] or r["status"]
                self.stdout.write(f"{r['tool']}: {state} (job #{r['job']}){': ' + r['summary'] if r['summary'] else ''}")
        if options["sync"] and failed:
            sys.exit(1)
