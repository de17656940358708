"""`manage.py autopilot run [--as-of YYYY-MM-DD] [--flow SLUG] [--json]` and `autopilot enrol [--flow SLUG] [--days N]
[--off]`: the retirement autopilot for automation. It runs as the autopilot system actor and never approves."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.services import ServiceError
from migrator.retirement.services import autopilot


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is not a date: use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Run the retirement autopilot over the enrolled flows, or enrol flows in it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("run", "enrol"))
        parser.add_argument("--as-of", help="run: judge days left from this date (YYYY-MM-DD), default today.")
        parser.add_argument("--flow", help="Only this flow (run), or enrol this flow (default: every flow).")
        parser.add_argument("--days", type=int, help="enrol: act this many days before the shutdown.")
        parser.add_argument("--off", action="store_true", help="enrol: opt out instead.")
        parser.add_argument("--queue", action="store_true",
                            help="run: queue tool tests and validations for the workers instead of running them here.")
        parser.add_argument("--json", action="store_true", help="run: print {flows:[…]}.")

    def handle(self, *args, **options) -> None:
        try:
            if options["action"] == "enrol":
                row = autopilot.enrol(actor=autopilot.AUTOPILOT_ADMIN, flow_slug=options["flow"],
                                      enabled=not options["off"], days_before=options["days"])
                who = options["flow"] or "every flow"
                self.stdout.write(f"autopilot {'on' if row.enabled else 'off'} for {who}, "
                                  f"acting {row.days_before} days before a shutdown")
                return
            as_of = _date(options["as_of"]) if options["as_of"] else None
            outcomes = autopilot.run(actor=autopilot.AUTOPILOT, as_of=as_of, flow_slug=options["flow"],
                                     inline=not options["queue"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"flows": [o.as_json() for o in outcomes]}, indent=2))
            return
        for o in outcomes:
            days = "no date" if o.days_left is None else f"{o.days_left} days"
            request = f" request #{o.request_id}" if o.request_id else ""
            self.stdout.write(f"{o.slug}: {o.model} ({days}) {o.action}{request}{' — ' + o.reason if o.reason else ''}")
