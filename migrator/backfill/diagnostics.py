"""Backfill's data for the diagnostics checks (discovered by migrator.diagnostics): coverage of a flow's threads.

Answers the ``backfill.coverage`` provider that the "conversation flow without backfill" and "old threads
missing" checks ask for, so diagnostics reads backfill through its registry, never by importing this app.
"""

from __future__ import annotations

from django.urls import reverse

from migrator.backfill.services import coverage
from migrator.core.diagnostics import provider


@provider("backfill.coverage")
def backfill_coverage(flow) -> dict:
    cov = coverage(flow)
    return {"threads": cov["threads"], "selected": cov["selected"], "backfilled": cov["done"] + cov["skipped"],
            "failed": cov["failed"], "pending": cov["pending"],
            "url": reverse("backfill:new") + f"?scope=flow&flow={flow.slug}"}
