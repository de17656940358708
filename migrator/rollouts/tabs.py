"""Guarded rollouts' pages other apps link to by key (migrator.core.navigation.page_url): the flow page loads a
flow's live charts."""

PAGES = {"flow_live_charts": "rollouts:flow_charts"}
