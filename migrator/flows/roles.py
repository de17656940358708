"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles).

- Engineers test tools and check their resources, choose modes and mark steps (``core.change_flow``,
  ``core.add_flow`` and ``core.mark_flow_migrated`` come from core), and manage API tokens.
- Product owners and support leads read tool results and flows. Support leads (and engineers) move the
  production label through the prompts app's ``prompts.set_production_label``.
- API tokens are otherwise for superusers, through the admin.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_READ = ["flows.view_tooltestresult", "flows.view_toolresourcecheck"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ],
    ENGINEER: [
        *_READ,
        "flows.run_tool_test",
        "flows.view_apitoken",
        "flows.add_apitoken",
        "flows.change_apitoken",
    ],
    SUPPORT_LEAD: [*_READ],
}
