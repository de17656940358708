"""Roles are Django groups. Each app declares what its roles may do in ``<app>/roles.py`` as
``ROLE_PERMISSIONS = {"Engineer": ["app.codename", ...]}``; ``sync_roles`` merges them all.

The groups are created by a migration (core 0002); permissions are (re)synced after every migrate, because
Django creates permission rows only after all migrations have run.
"""

from __future__ import annotations

PRODUCT_OWNER = "Product owner"
ENGINEER = "Engineer"
SUPPORT_LEAD = "Support lead"
ROLES = (PRODUCT_OWNER, ENGINEER, SUPPORT_LEAD)

def group_names(user) -> list[str]:
    """The names of the user's groups, read once per user object (the sidebar and the review inbox both ask on
    every page)."""
    cached = getattr(user, "_migrator_group_names", None)
    if cached is None:
        cached = list(user.groups.values_list("name", flat=True)) if user.is_authenticated else []
        user._migrator_group_names = cached
    return cached


def has_role(user) -> bool:
    """Whether ``user`` holds one of the roles (or is a superuser): the infrastructure pages (System, system
    diagnostics) name hosts, queues and workers, which a signed-in user in no group has no business reading."""
    return bool(user.is_authenticated and (user.is_superuser or set(group_names(user)) & set(ROLES)))


_READ = [
    "core.view_assistant",
    "core.view_flow",
    "core.view_job",
    "core.view_auditevent",
    "core.view_connection",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ, "core.draft_prompt", "core.approve_prompt", "core.block_assistant", "core.set_priority"],
    ENGINEER: [
        *_READ,
        "core.add_connection",
        "core.change_connection",
        "core.delete_connection",
        "core.draft_prompt",
        "core.block_assistant",
        "core.retire_assistant",
        "core.set_priority",
        "core.add_flow",
        "core.change_flow",
    ],
    SUPPORT_LEAD: [*_READ],
}

def role_modules() -> list:
    """Every installed app's ``roles`` module (found, not listed: a new app only adds its ``roles.py``)."""
    from migrator.core.registries import app_modules

    return app_modules("roles")


def all_role_permissions() -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for module in role_modules():
        for role, perms in getattr(module, "ROLE_PERMISSIONS", {}).items():
            merged.setdefault(role, set()).update(perms)
    return merged


def sync_roles(group_model, permission_model) -> None:
    """Create the role groups and give each exactly its declared permissions (idempotent)."""
    for role, perms in all_role_permissions().items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for dotted in sorted(perms):
            app_label, codename = dotted.split(".", 1)
            perm = permission_model.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    if getattr(sender, "label", None) != "core":
        return
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # Apps listed after core get their permission rows later in this same post_migrate pass; create them now
    # so the permissions their roles.py declare can be granted.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"),
                           apps=kwargs.get("apps") or global_apps)
    sync_roles(Group, Permission)
