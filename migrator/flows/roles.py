"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles)."""

ROLE_PERMISSIONS: dict[str, list[str]] = {}
