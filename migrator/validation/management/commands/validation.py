"""``manage.py validation export --run ID --format promptfoo --out DIR``.

Writes ``DIR/promptfooconfig.yaml`` and everything it needs (see ``migrator/validation/promptfoo.py`` and the
README.md it writes): ``promptfoo eval`` on it gives the same pass/fail per case as the run. The base URL is the
run's connection's, in one place (the provider's ``config.base_url``).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.models import Connection
from migrator.validation import promptfoo
from migrator.validation.models import ValidationRun


class Command(BaseCommand):
    help = "Export a validation run (promptfoo: a config that reproduces the run's verdict per case)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="export")
        export = sub.add_parser("export", help="Write a run's promptfoo export into a directory.")
        export.add_argument("--run", required=True, type=int, metavar="ID")
        export.add_argument("--format", required=True, choices=["promptfoo"])
        export.add_argument("--out", required=True, metavar="DIR")

    def handle(self, *args, **options) -> None:
        run = ValidationRun.objects.select_related("test_set").filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"No validation run #{options['run']}.")
        if not run.is_finished:
            raise CommandError(f"Run #{run.pk} is {run.get_status_display().lower()}; export a finished run.")
        connection = Connection.objects.filter(pk=run.connection_id).first()
        files = promptfoo.run_files(run, base_url=connection.base_url if connection else "")
        out = Path(options["out"])
        try:
            promptfoo.write_dir(files, out)
        except OSError as exc:
            raise CommandError(f"--out {out}: cannot write there ({exc.strerror or exc}).") from exc
        self.stdout.write(f"Wrote {len(files)} files for run #{run.pk} (release {run.release_hash[:12]}) to "
                          f"{out}; run: npx promptfoo eval -c {out / 'promptfooconfig.yaml'}")
