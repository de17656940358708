"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles).

Engineers import (live or from archives) and manage connections (core grants add/change/delete_connection);
everyone reads the inventory: threads, messages, runs, vector stores, files, drift history and the model list.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_READ = [
    "inventory.view_legacythread",
    "inventory.view_legacymessage",
    "inventory.view_legacyrun",
    "inventory.view_vectorstore",
    "inventory.view_legacyfile",
    "inventory.view_assistantrevision",
    "inventory.view_reportedmodel",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ],
    ENGINEER: [*_READ, "inventory.import_assistants"],
    SUPPORT_LEAD: [*_READ],
}
