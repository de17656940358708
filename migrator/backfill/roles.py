"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles).

Engineers run, pause, resume, cancel and roll back backfills and set a connection's rate budget; everyone
else reads runs, the thread → conversation mapping and its ledger.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_READ = ["backfill.view_backfillrun", "backfill.view_threadbackfill", "backfill.view_connectionratelimit"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_READ],
    ENGINEER: [*_READ, "backfill.run_backfill", "backfill.rollback_backfill", "backfill.add_connectionratelimit",
               "backfill.change_connectionratelimit"],
    SUPPORT_LEAD: [*_READ],
}
