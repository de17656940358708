"""Backfill services: selection and plans, runs, the exactly-once executor, rollback, exports and coverage.

Views, Celery job handlers and the ``backfill`` command are thin doors onto these functions.
"""

from migrator.backfill.services.coverage import coverage

__all__ = ["coverage"]
