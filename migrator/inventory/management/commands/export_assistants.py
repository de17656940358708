"""``manage.py export_assistants --connection NAME [--thread-ids FILE] --out FILE [--json]``: write an archive of
the raw API objects a connection still returns.

The command door of the *Export* page: the same service (``inventory.services.imports.export_archive``) writes the
archive, here to ``--out`` and acting as the named system actor ``command:export_assistants`` (the audit log says
which door exported). ``--json`` prints one object: ``{"out", "counts", "summary", "problems"}``. Exits 1 when
some object could not be exported (the archive holds everything else).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.actors import system
from migrator.core.services import ServiceError
from migrator.inventory.management.commands.import_assistants import connection_named, read_thread_list
from migrator.inventory.services.exports import counts_in_words
from migrator.inventory.services.imports import export_archive

_COMMAND = system("command:export_assistants", "the export_assistants command")


class Command(BaseCommand):
    help = ("Export every assistant (with its vector stores and files) and the listed threads (messages, runs, "
            "steps) from a connection into a JSON Lines archive; gzipped when --out ends in .gz.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", metavar="NAME", required=True)
        parser.add_argument("--thread-ids", metavar="FILE", help="CSV or JSON list of thread ids")
        parser.add_argument("--out", metavar="FILE", required=True, help="archive to write (.jsonl or .jsonl.gz)")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        connection = connection_named(options["connection"])
        refs = read_thread_list(options["thread_ids"]) if options["thread_ids"] else []
        try:
            result = export_archive(connection=connection, out=options["out"], actor=_COMMAND, thread_ids=refs)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        summary = counts_in_words(result["counts"])
        if options["json"]:
            self.stdout.write(json.dumps({"out": str(options["out"]), "counts": result["counts"], "summary": summary,
                                          "problems": result["problems"]}, indent=2))
        else:
            self.stdout.write(f"Wrote {options['out']}: {summary}.")
            for problem in result["problems"]:
                self.stderr.write(f"  {problem['where']}: {problem['message']}")
        if result["problems"]:
            sys.exit(1)
