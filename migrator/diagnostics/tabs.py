"""Diagnostics' pages other apps link to by key (migrator.core.navigation.page_url): the system page loads the
system checks, the flow page loads a flow's summary card."""

PAGES = {"system_checks": "diagnostics:system", "flow_diagnostics": "diagnostics:flow",
         "flow_diagnostics_summary": "diagnostics:flow_summary"}
