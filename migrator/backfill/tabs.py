"""The backfill's sidebar entry and assistant tab (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab

NAV = (
    Tab("backfill", "Backfill", "backfill:run_list", "backfill.view_backfillrun", order=45,
        match=(("backfill", ""),)),
)

ASSISTANT_TABS = (Tab("backfill", "Backfill", "backfill:assistant_backfill", order=40),)
