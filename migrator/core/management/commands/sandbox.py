"""``manage.py sandbox``: serve the offline OpenAI-compatible API under http://HOST:PORT/v1.

The one place the domain imports the sandbox (see tests/core/test_architecture.py): it only turns Django's
command line and ``DATA_DIR`` into the sandbox's own options and runs its server in this process. The sandbox
package itself knows nothing of Django (``python -m migrator.sandbox`` runs it without Django at all).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from migrator.sandbox.config import add_arguments, from_namespace
from migrator.sandbox.server import serve


class Command(BaseCommand):
    help = "Serve the sandbox: an offline OpenAI-compatible API with a deterministic model."

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser, default_state=str(settings.DATA_DIR / "sandbox.sqlite3"))

    def handle(self, *args: Any, **options: Any) -> None:
        serve(from_namespace(options))
