from __future__ import annotations

from django.http import HttpRequest

from migrator.core.navigation import active_nav_key, nav_items
from migrator.core.roles import ROLES, group_names


def _active_key(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return active_nav_key(match.namespace or "", match.url_name or "")


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = [name for name in group_names(user) if name in ROLES]
    if user.is_superuser:
        roles.insert(0, "Administrator")
    return {"nav": nav_items(user, _active_key(request)), "user_roles": roles}
