"""``manage.py receipt export --flow SLUG --out FILE`` and ``manage.py receipt verify FILE``.

``export`` writes the flow's signed migration receipt (a zip of ``receipt.json`` and ``receipt.html``) through
the same service as the flow page's download, as the system actor ``command:receipt``. ``verify`` checks a
receipt against this installation's key: exit 0 when it is valid, 1 with the reason on stderr when not.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.actors import system
from migrator.core.models import Flow
from migrator.core.services import ServiceError
from migrator.receipts import services

ACTOR = system("command:receipt", "the receipt command")


class Command(BaseCommand):
    help = "Export a flow's signed migration receipt, or verify one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="export|verify")
        export = sub.add_parser("export", help="Write the flow's signed receipt (zip: receipt.json + receipt.html).")
        export.add_argument("--flow", required=True, metavar="SLUG")
        export.add_argument("--out", required=True, metavar="FILE")
        verify = sub.add_parser("verify", help="Check a receipt's signature: exit 0 valid, 1 invalid.")
        verify.add_argument("file", metavar="FILE")

    def handle(self, *args, **options) -> None:
        if options["action"] == "export":
            self._export(options["flow"], Path(options["out"]))
        else:
            self._verify(Path(options["file"]))

    def _export(self, slug: str, out: Path) -> None:
        flow = Flow.objects.filter(slug=slug).first()
        if flow is None:
            raise CommandError(f"No flow with the slug {slug!r}.")
        try:
            bundle = services.export(flow_id=flow.pk, actor=ACTOR)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        try:
            out.write_bytes(bundle)
        except OSError as exc:
            raise CommandError(f"--out {out}: cannot write it ({exc.strerror or exc}).") from exc
        self.stdout.write(f"Wrote the receipt of {flow.slug} to {out} ({len(bundle):,} bytes, signed with key "
                          f"{services.key_id()}).")

    def _verify(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.stderr.write(f"{path}: cannot read it ({exc.strerror or exc}).")
            sys.exit(1)
        result = services.verify(data)
        if not result.ok:
            self.stderr.write(f"INVALID: {path}: {result.reason}")
            sys.exit(1)
        flow = (result.receipt or {}).get("flow", {})
        self.stdout.write(f"VALID: receipt of {flow.get('slug')} generated {result.receipt['receipt']['generated_at']}, "
                          f"signed with this installation's key {services.key_id()}.")
