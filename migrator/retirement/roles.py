"""Who may sync the model catalogue and steer the autopilot (merged by migrator.core.roles.sync_roles).

Engineers own the moves off retiring models: they sync the catalogue, acknowledge its notices and enrol flows in
the autopilot. Support leads and product owners read the catalogue and its notices.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_READ = ["retirement.view_catalogueentry", "retirement.view_cataloguenotice"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ],
    ENGINEER: [*_READ, "retirement.sync_catalogue", "retirement.change_cataloguenotice",
               "retirement.manage_autopilot"],
    SUPPORT_LEAD: [*_READ],
}
