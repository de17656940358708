"""Convert one legacy assistant definition to responses.create keyword arguments (no database, no network).

The command door of the *Convert* page: both call ``migrator.prompts.converting.convert_text``. ``--json`` prints
one object: ``{"kwargs", "ledger", "outcomes", "decisions", "fixes", "findings", "schemas"}``.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.services import ServiceError
from migrator.prompts.converting import Converted, convert_text


class Command(BaseCommand):
    help = (
        "Read one assistant (an Assistants API object, a create/update request body, or the corpus wrapper "
        '{"source": ..., "assistant": {...}}) and print the keyword arguments for client.responses.create(...) '
        "as JSON, or as a ready Python call. Decisions and findings are summarised on stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--legacy-json", required=True, metavar="FILE", help="Path to the JSON file ('-' = stdin).")
        parser.add_argument("--format", choices=["json", "python"], default="json", help="Output format.")
        parser.add_argument("--with-ledger", action="store_true",
                            help="JSON only: print {kwargs, ledger, findings, schemas} instead of the kwargs alone.")
        parser.add_argument("--json", action="store_true",
                            help="Print one JSON object: the kwargs, the ledger with its outcome counts, the "
                                 "decisions to make, the fixes needed, the findings and the schemas (as the "
                                 "Convert page shows them); nothing on stderr.")
        parser.add_argument("--today", type=date.fromisoformat, default=None,
                            help="Judge model retirement against this date (YYYY-MM-DD); default today.")
        parser.add_argument("--quiet", action="store_true", help="Do not print the summary on stderr.")

    def handle(self, *args, **options) -> None:
        path = options["legacy_json"]
        if options["json"] and (options["format"] == "python" or options["with_ledger"]):
            raise CommandError("--json prints one JSON object; leave out --format python and --with-ledger.")
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text; save the assistant as JSON in UTF-8.") from None
        try:
            converted = convert_text(text=text, source=path, today=options["today"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(converted.as_json(), indent=2, ensure_ascii=False))
            return
        if options["format"] == "python":
            self.stdout.write(converted.python(), ending="")
        elif options["with_ledger"]:
            result = converted.result
            self.stdout.write(json.dumps({
                "kwargs": result.kwargs, "ledger": result.ledger_dicts(), "findings": result.finding_dicts(),
                "schemas": [s.to_dict() for s in result.schemas],
            }, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(converted.kwargs_json())
        if not options["quiet"]:
            self._summary(converted)

    def _summary(self, converted: Converted) -> None:
        self.stderr.write("Ledger: " + ", ".join(f"{n} {outcome.replace('_', ' ')}"
                                                  for outcome, n in converted.outcome_counts().items()))
        for decision in converted.decisions():
            self.stderr.write(f"  decide: {decision['field']}: {decision['reason']}")
        for fix in converted.fixes():
            self.stderr.write(f"  fix: {fix['where']}: {fix['message']}")
        loose = converted.loose_schemas()
        if loose:
            self.stderr.write(f"  {len(loose)} schema(s) are not strict-compatible and were kept with strict: false "
                              "(review them in migrator).")
