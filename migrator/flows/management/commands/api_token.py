"""``manage.py api_token create --name N --consumer C [--flow SLUG ...] [--json]``.

Automation (deploy scripts, secret-store bootstrap) issues config-API tokens without the web page. The
command acts as the named system actor ``command:api_token`` through the same service the *API tokens* page
uses, so the audit log says which door made the token. The plaintext is printed exactly once, on stdout;
``--json`` prints ``{"token": "mgr_…"}`` and nothing else there (details go to stderr), so a script can pipe it
straight into a secret store.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.actors import system
from migrator.core.models import Flow
from migrator.core.services import ServiceError
from migrator.flows.services.tokens import create_token

ACTOR_NAME = "command:api_token"


class Command(BaseCommand):
    help = "Manage API tokens for the production config API (create prints the token once)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="create")
        create = sub.add_parser("create", help="Issue a token for one consumer; the token is printed once.")
        create.add_argument("--name", required=True, help="What the token is for, e.g. 'checkout web (prod)'.")
        create.add_argument("--consumer", required=True, help="The team or service that holds it.")
        create.add_argument("--flow", action="append", default=[], metavar="SLUG", dest="flows",
                            help="Limit the token to this flow (repeat for several); default: every flow.")
        create.add_argument("--json", action="store_true", help='Print {"token": "mgr_…"} only.')

    def handle(self, *args, **options) -> None:
        if options["action"] == "create":
            self._create(options)

    def _create(self, options: dict) -> None:
        slugs = [s.strip().lower() for s in options["flows"] if s.strip()]
        flows = {f.slug: f.pk for f in Flow.objects.filter(slug__in=slugs)}
        unknown = [s for s in slugs if s not in flows]
        if unknown:
            raise CommandError(f"No flow with the slug {', '.join(repr(s) for s in unknown)} "
                               f"(see the Flows page or /api/v1/flows for the slugs).")
        actor = system(ACTOR_NAME, "the api_token command", perms={"flows.add_apitoken"})
        try:
            token, plaintext = create_token(actor=actor, name=options["name"], consumer=options["consumer"],
                                            flow_ids=sorted(set(flows.values())))
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        scope = ", ".join(sorted(flows)) if flows else "every flow"
        if options["json"]:
            self.stdout.write(json.dumps({"token": plaintext}))
            self.stderr.write(f"Created API token {token.display_prefix}… for {token.consumer} ({scope}).")
            return
        self.stdout.write(plaintext)
        self.stderr.write(
            f"Created API token {token.display_prefix}… '{token.name}' for {token.consumer} ({scope}).\n"
            "This is the only time the token is shown: store it in your secret store now."
        )
