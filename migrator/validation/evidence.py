"""Cutover evidence from validation: the latest run of the flow's release (configuration hash, mode, truncation,
store), with the checks and thresholds it was judged by. A check switched off or loosened since the last
approved release (or, before any, against the defaults) is named, with who changed it and when, so the support
lead sees it in red beside "passed"."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from migrator.core.evidence import Item, State, provider
from migrator.core.models import AuditEvent
from migrator.validation.checks import loosened, resolve
from migrator.validation.models import TestSet, ValidationRun
from migrator.validation.services.runs import evidence

TITLE = "Passing validation run"
_DECIDED = ("approved", "completed", "rolled_back")


def baseline_checks(flow) -> tuple[dict[str, Any], str]:
    """(check settings, what they are) the last approved release of ``flow`` was validated with; the defaults
    when nothing was approved yet."""
    from migrator.cutover.models import CutoverRequest

    for request in CutoverRequest.objects.filter(flow=flow, status__in=_DECIDED, decided_at__isnull=False).order_by(
            "-decided_at", "-id")[:5]:
        item = next((i for i in request.evidence or [] if i.get("key") == "validation"), None)
        run_id = ((item or {}).get("details") or {}).get("run_id")
        run = ValidationRun.objects.filter(pk=run_id).only("options").first() if run_id else None
        if run is not None:
            return run.options.get("checks") or resolve({}), f"the last approved release (request #{request.pk})"
    return resolve({}), "the default checks"


def _who_changed(test_set_id: int | None, check: str) -> dict[str, str]:
    """The latest edit of ``check`` on the test set: who and when (empty when the audit log has none)."""
    if not test_set_id:
        return {}
    events = AuditEvent.objects.filter(verb="migrator.validation.checks_changed", object_id=str(test_set_id),
                                       object_type=TestSet._meta.label_lower).order_by("-created_at", "-id")[:50]
    for event in events:
        if ((event.before or {}).get(check) or {}) != ((event.after or {}).get(check) or {}):
            return {"by": event.actor_label, "at": event.created_at.isoformat()}
    return {}


def loosened_checks(flow, found: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    baseline, label = baseline_checks(flow)
    rows = loosened(baseline, found.get("checks"))
    for row in rows:
        row.update(_who_changed(found.get("test_set_id"), row["check"]))
    return rows, label


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
                                     "connection", "finished_at", "release", "checks")}
    loose, baseline = loosened_checks(flow, found)
    details["loosened"] = loose
    details["checks_baseline"] = baseline
    warning = ""
    if loose:
        listed = "; ".join(f"{r['label']} {r['what']}" + (f" (by {r['by']})" if r.get("by") else "") for r in loose)
        warning = f" Checks loosened since {baseline}: {listed}."
    if found["verdict"] == "pass":
        return Item("validation", TITLE, State.PASSED, f"Run #{found['run_id']} passed: {found['summary']}{warning}",
                    url=found["url"], details=details)
    state = State.FAILED if found["verdict"] == "fail" else State.MISSING
    return Item("validation", TITLE, state,
                f"Run #{found['run_id']} {found['verdict']}: {found['summary']} ({points}){warning}",
                url=found["url"], details=details)
