"""``manage.py flow mode --flow SLUG --mode (stateless|conversation|previous_response) --by USER --reason TEXT
[--json]`` and ``manage.py flow create --assistant ASST_ID --slug SLUG --name NAME [--description T] --by USER
[--json]``.

The same service as the flow page's *Save mode* (``flows.services.flows.choose_mode``), acting as the named
user with their permissions; the flow's truncation and store stay as they are. On a live flow it records a
candidate release and changes nothing production gets: the output names both releases. A refusal exits 1 with
the reason on stderr.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.management import lookups
from migrator.core.services import ServiceError
from migrator.core.status import FlowMode
from migrator.flows.services import flows as flow_services


class Command(BaseCommand):
    help = "Change a flow's state mode (on a live flow: a candidate release; production is unchanged)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="mode|create")
        mode = sub.add_parser("mode", help="Choose the flow's state mode, as Save mode on the flow page does.")
        mode.add_argument("--flow", required=True, metavar="SLUG", help="The flow's slug.")
        mode.add_argument("--mode", required=True, choices=FlowMode.values)
        mode.add_argument("--by", required=True, metavar="USER", help="Act as this user, with their permissions.")
        mode.add_argument("--reason", required=True, metavar="TEXT", help="Why (needed when overriding).")
        mode.add_argument("--json", action="store_true", help="Print one JSON object.")
        create = sub.add_parser("create", help="Create a flow, as New flow on the assistant's Flows tab does.")
        create.add_argument("--assistant", required=True, metavar="ASST_ID", help="The legacy assistant id (asst_…).")
        create.add_argument("--slug", required=True, help="Lowercase letters, digits and hyphens; unique.")
        create.add_argument("--name", required=True)
        create.add_argument("--description", default="")
        create.add_argument("--by", required=True, metavar="USER", help="Act as this user, with their permissions.")
        create.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        user = lookups.active_user(options["by"])
        if options["action"] == "create":
            self._create(options, user)
            return
        flow = lookups.flow(options["flow"])
        store = flow.store or options["mode"] == FlowMode.PREVIOUS_RESPONSE
        try:
            flow, decision = flow_services.choose_mode(flow_id=flow.pk, actor=user, mode=options["mode"],
                                                       truncation=flow.truncation, store=store,
                                                       reason=options["reason"])
        except ServiceError as exc:
            raise CommandError(f"Refused: {exc}") from exc
        outcome = {**flow_services.mode_outcome(flow), "decision": decision}
        if options["json"]:
            self.stdout.write(json.dumps(outcome, indent=2))
            return
        self.stdout.write(f"{flow.slug}: mode {flow.mode} ({decision}).")
        if outcome["production_release"]:
            self.stdout.write(f"Production serves release {outcome['production_release'][:12]}, unchanged.")
        if outcome["candidate_release"]:
            self.stdout.write(f"Candidate release {outcome['candidate_release'][:12]}: served only after a cutover.")

    def _create(self, options: dict, user) -> None:
        assistant = lookups.assistant(options["assistant"])
        try:
            flow = flow_services.create_flow(assistant_id=assistant.pk, slug=options["slug"], name=options["name"],
                                             description=options["description"], actor=user)
        except ServiceError as exc:
            raise CommandError(f"Refused: {exc}") from exc
        result = {"slug": flow.slug, "name": flow.name, "assistant": assistant.legacy_id, "status": flow.status,
                  "recommended_mode": flow.recommended_mode or None}
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"Created flow {flow.slug} ({flow.name}) of {assistant.display_name}: "
                          f"{flow.get_status_display().lower()}"
                          + (f"; the threads suggest {flow.get_recommended_mode_display().lower()}."
                             if flow.recommended_mode else "."))
