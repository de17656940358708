"""Flows' sidebar entries and assistant tabs (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab

NAV = (
    Tab("flows", "Flows", "flows:list", "core.view_flow", order=30, match=(("flows", ""),)),
    Tab("tokens", "API tokens", "flows:token_list", "flows.view_apitoken", order=70, match=(("flows", "token"),)),
)

ASSISTANT_TABS = (
    Tab("flows", "Flows", "flows:assistant_flows", order=40),
)
