"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles).

- Engineers choose modes and mark steps (``core.change_flow``, ``core.add_flow`` and
  ``core.mark_flow_migrated`` come from core), and manage API tokens. Tool tests are the tools app's.
- Product owners and support leads read flows (``core.view_flow``). Support leads (and engineers) move the
  production label through the prompts app's ``prompts.set_production_label``.
- API tokens are otherwise for superusers, through the admin.
"""

from migrator.core.roles import ENGINEER

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ENGINEER: [
        "flows.view_apitoken",
        "flows.add_apitoken",
        "flows.change_apitoken",
    ],
}
