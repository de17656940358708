"""Which queue this installation's jobs travel on.

Two installations on one machine usually share Redis. If they also shared a queue name, each one's worker
would take the other's jobs. So the default queue name is derived from the installation's database (engine,
name, host, port: what makes it *this* installation), and web and worker derive the same name because they
read the same ``DATABASE_URL``. ``CELERY_QUEUE`` overrides it. The name is read from the live connection
settings, not frozen at import, so a test database gets a queue of its own too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


def database_identity(db: dict[str, Any]) -> str:
    """A stable description of a database: the same for every process that opens it."""
    engine = str(db.get("ENGINE", "")).rsplit(".", 1)[-1]
    name = str(db.get("NAME", ""))
    if engine == "sqlite3":
        return f"sqlite3:{Path(name).expanduser().resolve()}" if name and name != ":memory:" else "sqlite3::memory:"
    host = str(db.get("HOST") or "").lower()
    host = "localhost" if host in _LOCAL_HOSTS else host
    port = str(db.get("PORT") or ("5432" if "postgres" in engine else ""))
    return f"{engine}://{host}:{port}/{name}"


def installation_id(db: dict[str, Any] | None = None) -> str:
    """Ten hex digits naming this installation (a hash of its database identity)."""
    if db is None:
        from django.db import connections

        db = connections["default"].settings_dict
    return hashlib.sha256(database_identity(db).encode()).hexdigest()[:10]


def job_queue() -> str:
    """The queue this installation's jobs are sent to and its workers consume."""
    from django.conf import settings

    return settings.CELERY_QUEUE or f"migrator-{installation_id()}"


def queue_source() -> str:
    """Why the queue is named what it is, for the System page and start-up."""
    from django.conf import settings
    from django.db import connections

    if settings.CELERY_QUEUE:
        return "set by CELERY_QUEUE"
    return f"derived from the database {database_identity(connections['default'].settings_dict)}"
