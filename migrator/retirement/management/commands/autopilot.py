"""`manage.py autopilot run [--as-of YYYY-MM-DD] [--flow SLUG] [--budget USD] [--json]`, `autopilot projection
[--as-of YYYY-MM-DD] [--flow SLUG] [--json]` (what the next run would spend) and `autopilot enrol [--flow SLUG]
[--days N] [--off]`: the retirement autopilot for automation. It runs as the autopilot system actor and never approves."""

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
        parser.add_argument("action", choices=("run", "enrol", "projection"))
        parser.add_argument("--as-of", help="run: judge days left from this date (YYYY-MM-DD), default today.")
        parser.add_argument("--flow", help="Only this flow (run), or enrol this flow (default: every flow).")
        parser.add_argument("--days", type=int, help="enrol: act this many days before the shutdown.")
        parser.add_argument("--off", action="store_true", help="enrol: opt out instead.")
        parser.add_argument("--queue", action="store_true",
                            help="run: queue tool tests and validations for the workers instead of running them here.")
        parser.add_argument("--budget", metavar="USD",
                            help="run: cap what this run's validations may spend; a flow that does not fit is left "
                                 "blocked ('budget reached') for a later run.")
        parser.add_argument("--json", action="store_true", help="run: print {flows:[…]}; projection: the projection.")

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
            if options["action"] == "projection":
                self._projection(autopilot.projection(as_of=as_of, flow_slug=options["flow"]), options["json"])
                return
            outcomes = autopilot.run(actor=autopilot.AUTOPILOT, as_of=as_of, flow_slug=options["flow"],
                                     inline=not options["queue"], budget_usd=options["budget"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"flows": [o.as_json() for o in outcomes]}, indent=2))
            return
        for o in outcomes:
            days = "no date" if o.days_left is None else f"{o.days_left} days"
            request = f" request #{o.request_id}" if o.request_id else ""
            self.stdout.write(f"{o.slug}: {o.model} ({days}) {o.action}{request}{' — ' + o.reason if o.reason else ''}")

    def _projection(self, plan: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(plan, indent=2))
            return
        cost = f"~${plan['cost_usd']:.4f}" if plan["cost_usd"] is not None else "price unknown"
        self.stdout.write(f"Next run ({plan['as_of']}): {len(plan['flows'])} validation(s), {plan['requests']} "
                          f"requests, {cost} (prices of {plan['priced_on']}; {plan['note']})")
        for row in plan["flows"]:
            each = f"~${row['cost_usd']:.4f}" if row["cost_usd"] is not None else "price unknown"
            self.stdout.write(f"  {row['slug']}: {row['model']} → {row['successor']}: {row['requests']} requests, {each}")

