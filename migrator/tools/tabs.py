"""The tools step's assistant tab (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab

ASSISTANT_TABS = (Tab("tools", "Tools", "tools:assistant_tools", order=30),)
