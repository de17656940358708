"""``manage.py webhook add --name N --url URL --event E [--event E ...] --by USER [--json]`` and
``manage.py webhook test (--id N | --name N) --by USER [--json]``.

The command doors of the Webhooks page's *Add endpoint* and *Send test event*, through the same services, acting
as the named user with their permissions. ``add`` prints the signing secret once (``{"secret": …}`` in JSON);
``test`` queues a ``webhook.test`` delivery that a worker sends, as the page's button does.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.management import lookups
from migrator.core.services import ServiceError
from migrator.webhooks import services
from migrator.webhooks.events import EVENTS
from migrator.webhooks.models import WebhookEndpoint


class Command(BaseCommand):
    help = "Add a webhook endpoint or send it a test event (as the Webhooks page does)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="add|test")
        add = sub.add_parser("add", help="Add an endpoint; its signing secret is printed once.")
        add.add_argument("--name", required=True, help="Who receives it, e.g. 'support Slack relay'.")
        add.add_argument("--url", required=True, help="http:// or https:// URL that accepts POST requests.")
        add.add_argument("--event", action="append", default=[], dest="events", choices=sorted(EVENTS),
                         metavar="EVENT", help=f"An event to receive (repeat): {', '.join(sorted(EVENTS))}.")
        add.add_argument("--description", default="")
        add.add_argument("--by", required=True, metavar="USER", help="Act as this user, with their permissions.")
        add.add_argument("--json", action="store_true", help="Print one JSON object.")
        test = sub.add_parser("test", help="Queue a webhook.test delivery to one endpoint.")
        which = test.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, help="The endpoint's number.")
        which.add_argument("--name", help="The endpoint's name.")
        test.add_argument("--by", required=True, metavar="USER", help="Act as this user, with their permissions.")
        test.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        user = lookups.active_user(options["by"])
        try:
            result, text = (self._add if options["action"] == "add" else self._test)(options, user)
        except ServiceError as exc:
            raise CommandError(f"Refused: {exc}") from exc
        self.stdout.write(json.dumps(result, indent=2) if options["json"] else text)

    def _add(self, options: dict, user) -> tuple[dict, str]:
        endpoint, secret = services.create_endpoint(actor=user, name=options["name"], url=options["url"],
                                                    events=options["events"], description=options["description"])
        result = {"id": endpoint.pk, "name": endpoint.name, "url": endpoint.url, "events": endpoint.events,
                  "secret": secret}
        text = (f"Added webhook endpoint #{endpoint.pk} '{endpoint.name}' for {', '.join(endpoint.events)}.\n"
                f"Signing secret (shown once; store it where the receiver verifies signatures):\n{secret}")
        return result, text

    def _test(self, options: dict, user) -> tuple[dict, str]:
        if options["id"] is not None:
            endpoint = WebhookEndpoint.objects.filter(pk=options["id"]).first()
            where = f"#{options['id']}"
        else:
            matches = list(WebhookEndpoint.objects.filter(name=options["name"])[:2])
            if len(matches) > 1:
                raise CommandError(f"Several endpoints are named {options['name']!r}; give --id instead.")
            endpoint, where = (matches[0] if matches else None), repr(options["name"])
        if endpoint is None:
            raise CommandError(f"No webhook endpoint {where} (the Webhooks page lists them).")
        delivery = services.send_test(actor=user, endpoint_id=endpoint.pk)
        result = {"endpoint": endpoint.pk, "delivery": delivery.pk, "status": delivery.status}
        return result, (f"Test event queued for '{endpoint.name}' as delivery #{delivery.pk}; a worker sends it and "
                        "its result appears in the endpoint's log.")
