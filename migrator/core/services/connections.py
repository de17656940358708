from __future__ import annotations

from django.conf import settings
from django.db import transaction

from migrator.core import crypto
from migrator.core.actors import may, system, user_or_none
from migrator.core.models import Connection
from migrator.core.services import NotAllowed, audit

_AUDITED_FIELDS = ("name", "base_url", "organization", "project", "is_sandbox")


def _snapshot(connection: Connection) -> dict:
    data = {field: getattr(connection, field) for field in _AUDITED_FIELDS}
    data["api_key"] = "set" if connection.has_api_key else "empty"  # never the key itself
    return data


def save_connection(
    *,
    actor,
    name: str,
    base_url: str,
    api_key: str | None = None,
    organization: str = "",
    project: str = "",
    connection: Connection | None = None,
    is_sandbox: bool = False,
) -> Connection:
    """Create or update a connection. ``api_key=None`` keeps the stored key (forms leave it blank)."""
    perm = "core.change_connection" if connection else "core.add_connection"
    if not may(actor, perm):
        raise NotAllowed("You may not manage connections.")
    with transaction.atomic():
        creating = connection is None
        connection = connection or Connection()
        before = None if creating else _snapshot(Connection.objects.get(pk=connection.pk))
        connection.name = name.strip()
        connection.base_url = base_url.strip().rstrip("/")
        connection.organization = organization.strip()
        connection.project = project.strip()
        connection.is_sandbox = is_sandbox
        if api_key:
            connection.set_api_key(api_key.strip())
        if creating:
            connection.created_by = user_or_none(actor)
        if before and (before["base_url"] != connection.base_url):
            connection.answers = {}  # a different endpoint must be tested again
        connection.save()
        audit.record(
            actor=actor,
            verb="migrator.connection.created" if creating else "migrator.connection.updated",
            obj=connection,
            before=before,
            after=_snapshot(connection),
        )
    return connection


def _stored_key(connection: Connection) -> str | None:
    """The stored key, or None when no configured encryption key reads it (an installation from before its
    key was generated per installation): the sandbox key is then simply stored again."""
    try:
        return connection.get_api_key()
    except crypto.SecretUnreadable:
        return None


def ensure_sandbox_connection(*, base_url: str | None = None, api_key: str | None = None) -> Connection:
    """The "Sandbox" connection that `make run` and the demo use (idempotent)."""
    existing = Connection.objects.filter(name="Sandbox").first()
    url = (base_url or settings.SANDBOX_URL).rstrip("/")
    key = api_key or settings.SANDBOX_API_KEY
    if existing and existing.base_url == url and existing.has_api_key and _stored_key(existing) == key:
        return existing
    return save_connection(
        actor=system("sandbox_setup", "sandbox set-up"), name="Sandbox", base_url=url, api_key=key, connection=existing, is_sandbox=True
    )
