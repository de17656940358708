"""``manage.py connection add NAME --base-url URL --api-key-env VAR``: create or update a connection.

Non-interactive (for automation): the API key is read from the environment variable named by
``--api-key-env`` so it never appears in a command line or shell history. ``--rpm``/``--tpm`` set the
connection's rate budget that backfill workers share.
"""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from migrator.backfill.models import ConnectionRateLimit
from migrator.core.actors import system
from migrator.core.models import Connection
from migrator.core.services import ServiceError
from migrator.core.services.connections import save_connection

ACTOR = system("command:connection", "the connection command")


class Command(BaseCommand):
    help = "Manage API connections: `connection add NAME --base-url URL --api-key-env VAR` creates or updates one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add"], help="add: create or update a connection")
        add = parser
        add.add_argument("name")
        add.add_argument("--base-url", required=True, help="for example https://api.openai.com/v1")
        add.add_argument("--api-key-env", required=True, metavar="VAR",
                         help="name of the environment variable holding the API key")
        add.add_argument("--organization", default="")
        add.add_argument("--project", default="")
        add.add_argument("--rpm", type=int, default=None, help="requests per minute budget shared by workers")
        add.add_argument("--tpm", type=int, default=None, help="tokens per minute budget shared by workers")

    def handle(self, *args, **options) -> None:
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters.", returncode=2)
        url = options["base_url"].strip()
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise CommandError(f"--base-url {url!r} is not an http(s) URL.", returncode=2) from None
        var = options["api_key_env"]
        key = os.environ.get(var, "")
        if not key:
            raise CommandError(f"The environment variable {var} named by --api-key-env is not set or empty.",
                               returncode=2)
        for flag in ("rpm", "tpm"):
            if options[flag] is not None and options[flag] < 1:
                raise CommandError(f"--{flag} must be a positive number.", returncode=2)
        existing = Connection.objects.filter(name=name).first()
        try:
            connection = save_connection(actor=ACTOR, name=name, base_url=url, api_key=key,
                                         organization=options["organization"], project=options["project"],
                                         connection=existing, is_sandbox=existing.is_sandbox if existing else False)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if options["rpm"] is not None or options["tpm"] is not None:
            limit, _ = ConnectionRateLimit.objects.get_or_create(connection=connection)
            limit.rpm = options["rpm"] if options["rpm"] is not None else limit.rpm
            limit.tpm = options["tpm"] if options["tpm"] is not None else limit.tpm
            limit.save()
        self.stdout.write(f"{'Updated' if existing else 'Created'} connection {connection.name} ({connection.base_url}).")
