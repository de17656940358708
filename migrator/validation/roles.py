"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles).

- Engineers build and edit test sets and run validations (``core.run_validation`` comes from core).
- Product owners and support leads read test sets, runs and reports.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_READ = ["validation.view_testset", "validation.view_testcase", "validation.view_validationrun",
         "validation.view_caseresult"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ],
    ENGINEER: [*_READ, "validation.add_testset", "validation.change_testset", "core.run_validation"],
    SUPPORT_LEAD: [*_READ],
}
