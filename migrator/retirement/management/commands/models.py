"""`manage.py models sync [--connection NAME] [--json]`: read each live connection's /models, merge the catalogue
file, store the catalogue and notify about what changed. Runs as the catalogue-sync system actor (it may do that
and nothing else), as the daily Celery beat job does."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.services import ServiceError
from migrator.retirement.services import catalogue


class Command(BaseCommand):
    help = "Sync the model catalogue (shutdown dates and named successors) and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("sync",))
        parser.add_argument("--connection", help="Read /models of this connection only (default: every live one).")
        parser.add_argument("--json", action="store_true", help="Print {models:[{id, shutdown_date, successor, "
                                                                "source, seen_at}]}.")

    def handle(self, *args, **options) -> None:
        try:
            result = catalogue.sync(actor=catalogue.SYNC_ACTOR, connection_name=options["connection"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        for name, outcome in result.connections.items():
            self.stdout.write(f"{name}: {outcome}")
        dated = [e for e in result.entries if e.shutdown_date]
        self.stdout.write(f"{len(result.entries)} models in the catalogue, {len(dated)} with a shutdown date"
                          + (" (first sync: baseline recorded, no notices)" if result.baseline else ""))
        for notice in result.notices:
            flows = ", ".join(f["slug"] for f in notice.flows) or "no flow"
            self.stdout.write(f"notice: {notice.summary} (affects {flows})")
