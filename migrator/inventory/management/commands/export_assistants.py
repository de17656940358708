"""``manage.py export_assistants``: write an archive of the raw API objects a connection still returns."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.services import ServiceError
from migrator.inventory.management.commands.import_assistants import connection_named, read_thread_list
from migrator.inventory.services.imports import export_archive


class Command(BaseCommand):
    help = ("Export every assistant (with its vector stores and files) and the listed threads (messages, runs, "
            "steps) from a connection into a JSON Lines archive; gzipped when --out ends in .gz.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", metavar="NAME", required=True)
        parser.add_argument("--thread-ids", metavar="FILE", help="CSV or JSON list of thread ids")
        parser.add_argument("--out", metavar="FILE", required=True, help="archive to write (.jsonl or .jsonl.gz)")

    def handle(self, *args, **options) -> None:
        connection = connection_named(options["connection"])
        refs = read_thread_list(options["thread_ids"]) if options["thread_ids"] else []
        try:
            result = export_archive(connection=connection, out=options["out"], thread_ids=refs)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(result["counts"].items())) or "nothing"
        self.stdout.write(f"Wrote {options['out']}: {counts}.")
        for problem in result["problems"]:
            self.stderr.write(f"  {problem['where']}: {problem['message']}")
        if result["problems"]:
            sys.exit(1)
