"""Views of the flows app: flows and API tokens (the Tools tab is ``migrator.tools.views``) (the API itself is ``migrator.flows.api``)."""
