"""Demo step for `make run`: sync the model catalogue once, so the demo's flows show their days left and the
catalogue page its dates from the first minute (the daily beat job keeps it current after that)."""

from __future__ import annotations

from typing import Any

from migrator.core.models import Connection
from migrator.retirement.services import catalogue


def seed_demo(*, connection: Connection, users: dict[str, Any]) -> str:
    result = catalogue.sync(actor=catalogue.SYNC_ACTOR, connection_name=connection.name)
    dated = sum(1 for e in result.entries if e.shutdown_date)
    return f"model catalogue synced ({len(result.entries)} models, {dated} with a shutdown date)"
