"""``manage.py flow_streams SLUG [--on | --off] [--json]``: say, or record, whether production streams a flow.

Without ``--on`` / ``--off`` it only reports. Setting it acts as the named system actor
``command:flow_streams`` through the same service the flow page's Details form uses (audited as
``migrator.flow.updated``). A streaming flow's validation runs replay it with ``stream=true`` and report time
to first token. ``--json`` prints ``{"flow": SLUG, "streams": true|false, "changed": true|false}``.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.actors import system
from migrator.core.models import Flow
from migrator.core.services import ServiceError
from migrator.flows.services.flows import update_flow

ACTOR_NAME = "command:flow_streams"


class Command(BaseCommand):
    help = "Show or set whether production streams a flow's answers (stream=true)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The flow's slug (see the Flows page or /api/v1/flows).")
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument("--on", action="store_true", help="Production streams this flow.")
        switch.add_argument("--off", action="store_true", help="Production does not stream this flow.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options) -> None:
        slug = options["slug"].strip().lower()
        flow = Flow.objects.filter(slug=slug).first()
        if flow is None:
            raise CommandError(f"No flow with the slug {slug!r} (see the Flows page or /api/v1/flows).")
        changed = False
        if options["on"] or options["off"]:
            wanted = bool(options["on"])
            if wanted != flow.streams:
                actor = system(ACTOR_NAME, "the flow_streams command", perms={"core.change_flow"})
                try:
                    flow = update_flow(flow_id=flow.pk, actor=actor, name=flow.name, description=flow.description,
                                       streams=wanted)
                except ServiceError as exc:
                    raise CommandError(str(exc)) from None
                changed = True
        if options["json"]:
            self.stdout.write(json.dumps({"flow": flow.slug, "streams": flow.streams, "changed": changed}))
            return
        state = "streams its answers (stream=true)" if flow.streams else "does not stream"
        self.stdout.write(f"{flow.name} ({flow.slug}): production {state}" + (" — changed." if changed else "."))
