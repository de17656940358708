"""Re-encrypt every stored API key with the newest MIGRATOR_ENCRYPTION_KEY.

A rotation: set MIGRATOR_ENCRYPTION_KEY="<new key>,<old key>" everywhere (web and worker), run
``manage.py rotate_keys``, then remove the old key. Exit status 1 when a stored key could not be read.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from migrator.core.actors import system
from migrator.core.services.keys import ROTATE_PERMISSION, rotate_stored_keys


class Command(BaseCommand):
    help = "Re-encrypt stored API keys with the first (newest) MIGRATOR_ENCRYPTION_KEY."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options) -> None:
        actor = system("command:rotate_keys", "the rotate_keys command", perms={ROTATE_PERMISSION})
        report = rotate_stored_keys(actor=actor, dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict()))
        else:
            verb = "would re-encrypt" if options["dry_run"] else "re-encrypted"
            self.stdout.write(f"{report.keys} encryption key(s) configured; {verb} {len(report.rotated)} stored "
                              f"API key(s); {len(report.current)} already used the newest key.")
            for name in report.unreadable:
                self.stderr.write(f"Connection “{name}”: its stored key cannot be decrypted with any configured "
                                  "key; enter it again on the Connections page.")
        if report.unreadable:
            raise CommandError(f"{len(report.unreadable)} stored key(s) could not be read.", returncode=1)
