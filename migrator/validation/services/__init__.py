"""Validation services: test sets (``testsets``), runs (``runs``) and what other apps read (``evidence``).

``evidence(flow)`` is the cutover's view of validation: the latest run for the flow's current configuration
hash and state mode.
"""

from migrator.validation.services.runs import evidence, is_stale

__all__ = ["evidence", "is_stale"]
