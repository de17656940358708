"""Cutover evidence from diagnostics (discovered by migrator.cutover.evidence): no troubleshooting check fails.

Bound to the requested version: the checks run with that version as the candidate. A failing check fails the
evidence; a check that is unknown for want of data (no threads imported, no recorded answers) makes it
incomplete, never passed. Checks that are unknown only because another app is not installed (validation,
backfill) do not count here: those apps' own required evidence items stand for them.
"""

from __future__ import annotations

from django.urls import reverse

from migrator.core import diagnostics as registry
from migrator.core.evidence import Item, State, provider
from migrator.diagnostics.checks import data

TITLE = "Diagnostics"


@provider("diagnostics", title=TITLE, order=60)
def diagnostics(*, flow, version, config_hash: str) -> Item:
    results = registry.run_flow(flow, version=version)
    url = reverse("diagnostics:flow", args=[flow.slug])
    failing = [r for r in results if r.status == registry.FAIL]
    unknown = [r for r in results if r.status == registry.UNKNOWN and not r.unavailable]
    counts = registry.counts(results)
    found = data.releases(flow)
    details = {"counts": counts, "checks": [{"key": r.key, "title": r.title, "status": r.status,
                                             "summary": r.summary} for r in results],
               "release": found["release"], "production_release": found["production_release"]}
    if failing:
        return Item("diagnostics", TITLE, State.FAILED,
                    f"{len(failing)} check(s) fail: " + "; ".join(f"{r.title}: {r.summary}" for r in failing[:3]),
                    url=url, details=details)
    if unknown:
        return Item("diagnostics", TITLE, State.MISSING,
                    f"{len(unknown)} check(s) could not be answered: " + "; ".join(
                        f"{r.title}: {r.summary}" for r in unknown[:3]), url=url, details=details)
    warnings = f", {counts['warn']} to look at" if counts["warn"] else ""
    return Item("diagnostics", TITLE, State.PASSED, f"No check fails for v{version.number}{warnings}.", url=url,
                details=details)
