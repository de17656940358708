from __future__ import annotations

from django.http import HttpRequest

from migrator.core.roles import ROLES
from migrator.core.tabs import nav_items

# (namespace, url-name prefix) → sidebar key; the first match wins.
_ACTIVE_RULES = (
    ("core", "dashboard", "dashboard"),
    ("core", "assistant", "assistants"),
    ("core", "job", "jobs"),
    ("core", "audit", "audit"),
    ("core", "system", "system"),
    ("inventory", "connection", "connections"),
    ("inventory", "model_radar", "models"),
    ("inventory", "import", "imports"),
    ("inventory", "usage", "usage"),
    ("inventory", "assistant", "assistants"),
    ("prompts", "", "assistants"),
    ("flows", "token", "tokens"),
    ("flows", "assistant", "assistants"),
    ("flows", "", "flows"),
)


def _active_key(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    for namespace, prefix, key in _ACTIVE_RULES:
        if match.namespace == namespace and (match.url_name or "").startswith(prefix):
            return key
    return ""


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = [g.name for g in user.groups.all() if g.name in ROLES]
    if user.is_superuser:
        roles.insert(0, "Administrator")
    return {"nav": nav_items(user, _active_key(request)), "user_roles": roles}
