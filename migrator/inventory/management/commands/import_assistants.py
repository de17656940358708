"""``manage.py import_assistants``: a thin door onto the inventory import services."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.actors import system
from migrator.core.models import Connection
from migrator.core.services import ServiceError
from migrator.inventory.services.imports import import_archive, import_from_connection
from migrator.inventory.thread_ids import parse_thread_list

_COMMAND = system("command:import_assistants", "the import_assistants command")


def read_thread_list(path: str):
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read the thread list {path}: {exc.strerror or exc}") from exc
    threads = parse_thread_list(data)
    if threads.errors:
        shown = "\n  ".join(threads.errors[:20])
        more = f"\n  …and {len(threads.errors) - 20} more" if len(threads.errors) > 20 else ""
        raise CommandError(f"The thread list {path} has problems:\n  {shown}{more}")
    return threads.refs


def connection_named(name: str) -> Connection:
    try:
        return Connection.objects.get(name=name)
    except Connection.DoesNotExist:
        names = ", ".join(Connection.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise CommandError(f"No connection is named {name!r} (there are: {names}).") from None


class Command(BaseCommand):
    help = ("Import assistants (and listed threads) live from a connection, or everything in an export archive. "
            "Exits 1 when anything was rejected.")

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--connection", metavar="NAME", help="import live from this connection")
        source.add_argument("--archive", metavar="FILE", help="import an export archive (.json/.jsonl, .gz)")
        parser.add_argument("--thread-ids", metavar="FILE",
                            help="CSV or JSON list of thread ids (with optional flow, end_user_id, tags)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options) -> None:
        if options["archive"] and options["thread_ids"]:
            raise CommandError("--thread-ids goes with --connection; an archive carries its own threads.")
        try:
            if options["archive"]:
                report = import_archive(path=options["archive"], actor=_COMMAND)
            else:
                connection = connection_named(options["connection"])
                refs = read_thread_list(options["thread_ids"]) if options["thread_ids"] else []
                report = import_from_connection(connection=connection, actor=_COMMAND, thread_ids=refs)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(report.summary())
            for error in report.to_dict()["errors"]:
                self.stdout.write(f"  {error['where']}: {error['message']}")
            if report.drifted:
                self.stdout.write(f"Definition drift (flagged for review): {', '.join(report.drifted)}")
        if not report.ok:
            if not options["json"]:
                self.stderr.write(report.problems())
            sys.exit(1)
