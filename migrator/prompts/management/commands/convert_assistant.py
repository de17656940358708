"""Convert one legacy assistant definition to responses.create keyword arguments (no database, no network)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core import model_catalog, safeinput
from migrator.prompts.codegen import kwargs_json, python_call
from migrator.prompts.conversion import NEEDS_DECISION, convert
from migrator.tools.conversion.types import ERROR


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
        parser.add_argument("--today", type=date.fromisoformat, default=None,
                            help="Judge model retirement against this date (YYYY-MM-DD); default today.")
        parser.add_argument("--quiet", action="store_true", help="Do not print the summary on stderr.")

    def handle(self, *args, **options) -> None:
        path = options["legacy_json"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        try:
            data = safeinput.loads(text)
        except ValueError as exc:
            raise CommandError(f"{path} cannot be read: {safeinput.describe(exc)}.") from None
        # A file in, a file out: no database needed, so the catalogue file alone judges model retirement.
        with model_catalog.file_only():
            result = convert(data, today=options["today"])
        if result.errors:
            lines = "\n".join(f"  - {error}" for error in result.errors)
            raise CommandError(f"{path} cannot be converted:\n{lines}")
        if options["format"] == "python":
            self.stdout.write(python_call(result.kwargs), ending="")
        elif options["with_ledger"]:
            self.stdout.write(json.dumps({
                "kwargs": result.kwargs, "ledger": result.ledger_dicts(), "findings": result.finding_dicts(),
                "schemas": [s.to_dict() for s in result.schemas],
            }, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(kwargs_json(result.kwargs))
        if not options["quiet"]:
            self._summary(result)

    def _summary(self, result) -> None:
        counts: dict[str, int] = {}
        for entry in result.ledger:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        self.stderr.write("Ledger: " + ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in counts.items()))
        for entry in result.ledger:
            if entry.outcome == NEEDS_DECISION:
                self.stderr.write(f"  decide: {entry.field}: {entry.reason}")
        for finding in result.findings:
            if finding.severity == ERROR and finding.kind != "strict":
                self.stderr.write(f"  fix: {finding.pointer or finding.text}: {finding.message}")
        strict = [s for s in result.schemas if not s.compatible]
        if strict:
            self.stderr.write(f"  {len(strict)} schema(s) are not strict-compatible and were kept with strict: false "
                              "(review them in migrator).")
