"""Views of the flows app: the tools page, flows, and API tokens (the API itself is ``migrator.flows.api``)."""
