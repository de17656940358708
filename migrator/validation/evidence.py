"""Cutover evidence from validation: the latest run for the version's configuration hash and the flow's mode."""

from __future__ import annotations

from django.urls import reverse

from migrator.core.evidence import Item, State, provider
from migrator.validation.services.runs import evidence

TITLE = "Passing validation run"


@provider("validation", title=TITLE, order=40)
def validation_run(*, flow, version, config_hash: str) -> Item:
    found = evidence(flow, version)
    if found is None:
        build = reverse("validation:testset_new") + f"?flow={flow.pk}"
        return Item("validation", TITLE, State.MISSING,
                    f"No finished validation run of v{version.number} (sha256 {config_hash[:12]}) in "
                    f"{flow.mode or 'stateless'} mode yet: build a test set for this flow and run it.", url=build)
    points = ", ".join(f"{p['title'].lower()}: {p['status'].replace('_', ' ')}" for p in found["points"])
    details = {k: found[k] for k in ("run_id", "verdict", "points", "totals", "failing_cases", "borderline_cases",
                                     "connection", "finished_at")}
    if found["verdict"] == "pass":
        return Item("validation", TITLE, State.PASSED, f"Run #{found['run_id']} passed: {found['summary']}",
                    url=found["url"], details=details)
    state = State.FAILED if found["verdict"] == "fail" else State.MISSING
    return Item("validation", TITLE, state, f"Run #{found['run_id']} {found['verdict']}: {found['summary']} ({points})",
                url=found["url"], details=details)
