"""``manage.py api_token create --name N --consumer C [--flow SLUG ...] [--json]`` and
``manage.py api_token revoke (--id N | --prefix P) --reason TEXT [--json]``.

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
        sub = parser.add_subparsers(dest="action", required=True, metavar="create|revoke")
        create = sub.add_parser("create", help="Issue a token for one consumer; the token is printed once.")
        create.add_argument("--name", required=True, help="What the token is for, e.g. 'checkout web (prod)'.")
        create.add_argument("--consumer", required=True, help="The team or service that holds it.")
        create.add_argument("--flow", action="append", default=[], metavar="SLUG", dest="flows",
                            help="Limit the token to this flow (repeat for several); default: every flow.")
        create.add_argument("--json", action="store_true", help='Print {"token": "mgr_…"} only.')
        revoke = sub.add_parser("revoke", help="Revoke a token, as Revoke on the API tokens page does.")
        which = revoke.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, help="The token's number (on the API tokens page).")
        which.add_argument("--prefix", help="The token's shown prefix (mgr_…), as on the API tokens page.")
        revoke.add_argument("--reason", required=True, help="Why; kept in the audit log.")
        revoke.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        if options["action"] == "create":
            self._create(options)
        elif options["action"] == "revoke":
            self._revoke(options)

    def _revoke(self, options: dict) -> None:
        from migrator.flows.models import ApiToken
        from migrator.flows.services.tokens import revoke_token

        if options["id"] is not None:
            token = ApiToken.objects.filter(pk=options["id"]).first()
            where = f"#{options['id']}"
        else:
            prefix = options["prefix"].strip().removesuffix("…")
            matches = [t for t in ApiToken.objects.all() if t.display_prefix.startswith(prefix)
                       or prefix.startswith(t.display_prefix)] if prefix else []
            if len(matches) > 1:
                raise CommandError(f"{len(matches)} tokens start with {prefix!r}; give --id instead.")
            token, where = (matches[0] if matches else None), repr(prefix)
        if token is None:
            raise CommandError(f"No API token {where} (the API tokens page lists them).")
        if not (options["reason"] or "").strip():
            raise CommandError("Say why with --reason: the audit log keeps it.")
        actor = system(ACTOR_NAME, "the api_token command", perms={"flows.change_apitoken"})
        was_revoked = token.revoked_at is not None
        try:
            token = revoke_token(actor=actor, token_id=token.pk, reason=options["reason"].strip())
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        result = {"id": token.pk, "prefix": token.display_prefix, "name": token.name, "consumer": token.consumer,
                  "revoked_at": token.revoked_at.isoformat(), "already_revoked": was_revoked}
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"API token {token.display_prefix}… '{token.name}' for {token.consumer} "
                          f"{'was already revoked' if was_revoked else 'is revoked'}: calls with it fail from now on.")

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
