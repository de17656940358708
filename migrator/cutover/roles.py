"""Cutover permissions per role (merged by migrator.core.roles.sync_roles).

- Engineers put flows forward (request) and run the rollout: ramp and roll back.
- Support leads approve or decline requests on evidence, and may ramp and roll back too (they own the
  customer impact). Nobody approves their own request, and no API token can approve.
- Product owners read.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_READ = ["cutover.view_cutoverrequest", "cutover.view_flowrollout", "cutover.view_servingchange"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ],
    ENGINEER: [*_READ, "cutover.request_cutover", "cutover.ramp_cutover"],
    SUPPORT_LEAD: [*_READ, "cutover.approve_cutover", "cutover.ramp_cutover"],
}
