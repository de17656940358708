"""Service functions of the flows app (keyword-only: check, act in one transaction, audit).

Tool tests and the "all tools pass" gate are the tools app's (``migrator.tools.services``).

- ``flows``: create flows, recommend and choose their state mode, mark steps, guarded status changes.
- ``tokens``: API tokens for the production config API.
- ``production``: the configuration a flow serves, and the production-label switch.
"""
