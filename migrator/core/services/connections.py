from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from migrator.core import crypto, outbound
from migrator.core.actors import may, system, user_or_none
from migrator.core.models import Connection
from migrator.core.services import NotAllowed, ServiceError, audit

_AUDITED_FIELDS = ("name", "base_url", "organization", "project", "is_sandbox")


def _snapshot(connection: Connection) -> dict:
    data = {field: getattr(connection, field) for field in _AUDITED_FIELDS}
    data["api_key"] = "set" if connection.has_api_key else "empty"  # never the key itself
    return data


def key_host(base_url: str) -> str:
    """Where a key is sent: scheme, host and port of the base URL (``https://api.openai.com``)."""
    parts = urlsplit(base_url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port and port != default else "")


class KeyNotRebound(ServiceError):
    """The base URL moves a stored key to another host, and neither a key nor a confirmation came with it."""

    def __init__(self, old_host: str, new_host: str) -> None:
        self.old_host, self.new_host = old_host, new_host
        super().__init__(
            f"The stored API key was given for {old_host}; the new base URL sends requests to {new_host}. "
            f"Enter the key again, or confirm by typing the new host ({new_host}) to send the stored key there.")


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
    confirm_host: str = "",
) -> Connection:
    """Create or update a connection. ``api_key=None`` keeps the stored key (forms leave it blank).

    A stored key stays with its host: a base URL on another scheme, host or port needs the key again, or
    ``confirm_host`` naming the new host exactly (``https://llm.example.com``); the audit event says which."""
    perm = "core.change_connection" if connection else "core.add_connection"
    if not may(actor, perm):
        raise NotAllowed("You may not manage connections.")
    if base_url.strip().rstrip("/") != settings.SANDBOX_URL.rstrip("/"):
        # The bundled sandbox's address comes from the deployment's settings, not from a user.
        outbound.check_url(base_url)
    with transaction.atomic():
        creating = connection is None
        connection = connection or Connection()
        stored = None if creating else Connection.objects.select_for_update().get(pk=connection.pk)
        before = None if stored is None else _snapshot(stored)
        key_binding = "new key" if api_key else "no key"
        if stored is not None and not api_key and stored.has_api_key:
            old_host, new_host = key_host(stored.base_url), key_host(base_url)
            if old_host == new_host:
                key_binding = "kept (same host)"
            elif confirm_host.strip().rstrip("/").lower() == new_host:
                key_binding = f"kept, re-confirmed for {new_host} (was {old_host})"
            else:
                raise KeyNotRebound(old_host, new_host)
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
            data={"key": key_binding},
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
