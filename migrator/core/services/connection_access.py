"""Who may use which connection for what: authorization by object, not only by role.

A connection holds an API key; using it sends billed traffic and, for a production key, touches production
data. Holding the permission for an action (``prompts.try_prompt``, ``flows.run_tool_test``, ...) lets a user
start that action; which connection it runs on is a second question, answered here for every door (forms list
only what this allows, services check it again, job handlers act as the person who started them):

- the Sandbox connection (``is_sandbox``) is free and keyless: anyone who may do the action may use it;
- any other connection only for users who manage connections (``core.change_connection``: engineers,
  superusers), or system actors granted :data:`USE_ANY`.

The policy lives in one function so a future per-connection grant changes one place.
"""

from __future__ import annotations

from django.db.models import QuerySet

from migrator.core.actors import check_actor, label_of, may
from migrator.core.models import Connection
from migrator.core.services import NotAllowed

USE_ANY = "core.change_connection"

# action → (the permission that action needs, what it is called in messages)
ACTIONS: dict[str, tuple[str, str]] = {
    "try": ("prompts.try_prompt", "try prompt versions"),
    "tool_test": ("tools.run_tool_test", "test tools"),
    "import": ("inventory.import_assistants", "import assistants"),
    "export": ("inventory.import_assistants", "export assistants"),
    "test": ("core.change_connection", "test connections"),
}


def may_use(actor, connection: Connection, action: str) -> bool:
    perm, _label = ACTIONS[action]
    if not may(actor, perm):
        return False
    return bool(connection.is_sandbox) or may(actor, USE_ANY)


def require_use(actor, connection: Connection, action: str) -> None:
    """Raise :class:`NotAllowed` unless ``actor`` may use ``connection`` for ``action``. The message names the
    connection but says nothing about its key."""
    check_actor(actor)
    perm, label = ACTIONS[action]
    if not may(actor, perm):
        raise NotAllowed(f"{label_of(actor)} may not {label}.")
    if not may_use(actor, connection, action):
        raise NotAllowed(f"{label_of(actor)} may not use the connection “{connection.name}” to {label}: only the "
                         "sandbox is open to every role; other connections hold billed keys and are used by "
                         "the people who manage connections.")


def usable(actor, action: str) -> QuerySet[Connection]:
    """The connections ``actor`` may use for ``action`` (what forms offer)."""
    perm, _label = ACTIONS[action]
    qs = Connection.objects.order_by("-is_sandbox", "name")
    if not may(actor, perm):
        return qs.none()
    return qs if may(actor, USE_ANY) else qs.filter(is_sandbox=True)
