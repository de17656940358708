"""Service functions of the flows app (keyword-only: check, act in one transaction, audit).

- ``tools``: start tool tests and resource checks, store their results, compute the "all tools pass" gate.
- ``flows``: create flows, recommend and choose their state mode, mark steps, guarded status changes.
- ``tokens``: API tokens for the production config API.
- ``production``: the configuration a flow serves, and the production-label switch.
"""
