"""``manage.py worker_health``: exit 0 only when this machine's worker can reach its database and its broker.

The container health check runs it (then ``celery inspect ping``): a worker that started "ready" while the
database or Redis is unreachable, or lost them since, is reported unhealthy instead of passing. ``--json`` prints
``{"database": {"ok": …, "detail": …}, "broker": {…}}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "detail": f"{type(exc).__name__}: {str(exc).strip()[:300]}"}
    return {"ok": True, "detail": connection.vendor}


def check_broker() -> dict[str, Any]:
    from migrator.celery import broker_choice, redis_answers

    choice = broker_choice()
    if choice.kind == "redis":
        ok = redis_answers(choice.url, timeout=2.0)
        return {"ok": ok, "detail": f"Redis {'answers' if ok else 'does not answer'} ({choice.kind})"}
    return {"ok": True, "detail": "the embedded filesystem broker"}


class Command(BaseCommand):
    help = "Exit 0 when the database and the task broker answer (the worker's health check), 1 otherwise."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        report = {"database": check_database(), "broker": check_broker()}
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            for name, result in report.items():
                self.stdout.write(f"{name}: {'ok' if result['ok'] else 'UNREACHABLE'} ({result['detail']})")
        if not all(r["ok"] for r in report.values()):
            sys.exit(1)
