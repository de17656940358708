"""Answers the diagnostics providers about validation (``validation.latest_run``, ``lowest_similarity``,
``answer_lengths``, ``latencies``) from the flow's latest finished run of the candidate version (found by the
diagnostics registry).

Bound like every piece of evidence: to the configuration hash of the version diagnostics judge (the one a
cutover request puts forward, else the one under review) and the flow's mode and store. A run of another
version says nothing about this one, so with none for it the checks are unknown, never passed."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from migrator.core.confighash import config_hash
from migrator.core.diagnostics import pass_cache, provider
from migrator.core.status import FlowMode
from migrator.diagnostics.checks.data import candidate_version
from migrator.validation.models import RunStatus, ValidationRun


def _latest(flow) -> ValidationRun | None:
    cache = pass_cache(flow)
    version = candidate_version(flow)
    key = ("validation.run", version.pk if version is not None else None)
    if key not in cache:  # four providers ask per diagnostics pass: one query
        runs = ValidationRun.objects.filter(flow=flow, status__in=[RunStatus.PASSED, RunStatus.FAILED,
                                                                    RunStatus.INCOMPLETE])
        if version is None:
            cache[key] = None
        else:
            cache[key] = (runs.filter(config_hash=config_hash(version.config), mode=flow.mode or FlowMode.STATELESS,
                                      store=flow.store).order_by("-finished_at", "-id").first())
    return cache[key]


@provider("validation.latest_run")
def latest_run(flow) -> dict[str, Any] | None:
    run = _latest(flow)
    if run is None:
        return None
    return {"id": run.pk, "mode": run.mode, "url": run.get_absolute_url(), "verdict": run.verdict,
            "config_hash": run.config_hash, "config_label": run.config_label, "release": run.release_hash,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}


@provider("validation.lowest_similarity")
def lowest_similarity(flow) -> list[dict[str, Any]]:
    run = _latest(flow)
    if run is None:
        return []
    rows = []
    for result in run.results.select_related("case"):
        check = next((c for c in result.checks if c.get("name") == "text_similarity" and c.get("status") != "skipped"),
                     None)
        if check is not None:
            # The run's own threshold and the case's verdict travel with the score, so diagnostics judges a low
            # similarity the way this run did (see diagnostics' outputs_validation).
            rows.append({"case": result.case.key, "similarity": float(check["score"]),
                         "threshold": check.get("threshold"), "verdict": result.verdict,
                         "url": reverse("validation:case_result", args=[run.pk, result.case_id])})
    return sorted(rows, key=lambda r: r["similarity"])


@provider("validation.answer_lengths")
def answer_lengths(flow) -> list[int]:
    run = _latest(flow)
    return [len(text) for text in run.results.values_list("answer_text", flat=True)] if run else []


@provider("validation.latencies")
def latencies(flow) -> list[float]:
    run = _latest(flow)
    return [ms / 1000 for ms in run.results.values_list("latency_ms", flat=True)] if run else []
