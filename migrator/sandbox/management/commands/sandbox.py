"""``manage.py sandbox``: serve the offline OpenAI-compatible API under http://HOST:PORT/v1."""

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
