"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles).

- Engineers test tools and check the resources they need (``tools.run_tool_test``).
- Product owners and support leads read the results, which gate a flow's "tools tested" step.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_READ = ["tools.view_tooltestresult", "tools.view_toolresourcecheck"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ],
    ENGINEER: [*_READ, "tools.run_tool_test"],
    SUPPORT_LEAD: [*_READ],
}
