"""What a validation run stands for: the configuration a flow stands on now (its candidate version, hash and state
mode), whether a run still speaks for it (stale when either moves on), the evidence the latest run gives, and a
run's status moves and the outcomes it reports to the status contract."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from migrator.core.confighash import config_hash, short
from migrator.core.models import Assistant, Flow
from migrator.core.release import make_release
from migrator.core.services import status as status_service
from migrator.core.status import FlowMode, move
from migrator.validation import points as points_module
from migrator.validation.checks import resolve
from migrator.validation.models import RUN_FINISHED, RunStatus, ValidationRun, Verdict

# --- which configuration a flow stands on --------------------------------------------------------------------


def candidate_version(assistant: Assistant | int):
    """The version a cutover would put forward: the approved label, else the draft under review."""
    from migrator.prompts.models import LabelName
    from migrator.prompts.selectors import current_version, labels_for

    approved = labels_for(assistant).get(LabelName.APPROVED)
    return approved.version if approved is not None else current_version(assistant)


def binding(flow: Flow) -> tuple[Any, str, str]:
    """(version, config hash, mode) the flow stands on now; hash "" when it has no version yet."""
    version = candidate_version(flow.assistant_id)
    return version, (config_hash(version.config) if version is not None else ""), (flow.mode or FlowMode.STATELESS)


def is_stale(run: ValidationRun) -> str:
    """Why ``run`` no longer speaks for its flow (or assistant) now: "" while it still does."""
    if run.flow_id:
        flow = Flow.objects.filter(pk=run.flow_id).first()
        if flow is None:
            return "the flow no longer exists"
        version, digest, mode = binding(flow)
        if digest != run.config_hash:
            now = f"v{version.number} (sha256 {short(digest)})" if version is not None else "no version"
            return f"the configuration changed: this run replayed sha256 {short(run.config_hash)}, the flow now uses {now}"
        if mode != run.mode:
            return f"the flow's state mode changed from {run.mode} to {mode}"
        if flow.store != run.store:
            return f"the flow's store setting changed from {str(run.store).lower()} to {str(flow.store).lower()}"
        if flow.truncation != run.truncation:
            return f"the flow's truncation changed from {run.truncation} to {flow.truncation}"
        if bool(flow.streams) != bool(run.options.get("stream")):
            return ("production now streams this flow; this run did not stream" if flow.streams
                    else "production no longer streams this flow; this run streamed")
        return ""
    version = candidate_version(run.assistant_id)
    if version is None or config_hash(version.config) != run.config_hash:
        return "the assistant's configuration changed since this run"
    return ""


# --- status and outcome -----------------------------------------------------------------------------------------


def move_run(run: ValidationRun, to: str, **fields: Any) -> bool:
    """Move the run's status along RUN_TRANSITIONS (core's conditional update, so two movers cannot both win)."""
    if to == RunStatus.RUNNING:
        fields.setdefault("started_at", timezone.now())
    elif to in RUN_FINISHED:
        fields.setdefault("finished_at", timezone.now())
    return move(run, to, any_source=True, **fields)


def report_outcome(run: ValidationRun, outcome: str, *, actor) -> None:
    """Tell the status contract what happened, when the run speaks for what the flow/assistant stands on now."""
    if is_stale(run):
        # A run of another configuration (a --config file, an older version) moves no status, but while it
        # ran its flow counted as validating.
        status_service.sync_assistant_with_flows(assistant_id=run.assistant_id, actor=actor)
        return
    verb = {"validation.run_started": "started", "validation.run_passed": "passed"}.get(outcome, "did not pass")
    mode = FlowMode(run.mode).label if run.mode in FlowMode.values else run.mode
    status_service.apply_outcome(
        outcome=outcome, actor=actor, assistant_id=run.assistant_id, flow_id=run.flow_id,
        reason=f"Validation run #{run.pk} {verb} ({run.config_label}, sha256 {short(run.config_hash)}, {mode})",
        evidence={"run_id": run.pk, "config_hash": run.config_hash, "mode": run.mode,
                  "verdict": run.verdict or "", "url": run.get_absolute_url()},
    )


# --- reading ----------------------------------------------------------------------------------------------------


def evidence(flow: Flow, version=None) -> dict[str, Any] | None:
    """The latest finished run for the flow's current configuration hash and mode (None when there is none)."""
    if version is None:
        version, digest, mode = binding(flow)
    else:
        digest, mode = config_hash(version.config), flow.mode or FlowMode.STATELESS
    if not digest:
        return None
    # Exactly the release: the run's hash also covers streaming (a streamed replay is not evidence for a flow
    # that does not stream, nor the other way round).
    release_hash = make_release(config=version.config, mode=mode, truncation=flow.truncation, store=flow.store,
                                stream=bool(flow.streams)).hash if version is not None else ""
    run = (ValidationRun.objects.filter(flow=flow, config_hash=digest, mode=mode, store=flow.store,
                                        truncation=flow.truncation, release_hash=release_hash,
                                        status__in=[RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE])
           .order_by("-finished_at", "-id").first())
    if run is None:
        return None
    results = list(run.results.select_related("case").order_by("case__key", "repeat"))
    failing = points_module.case_rows(results, Verdict.FAIL)
    borderline = points_module.borderline_rows(results, run.options.get("checks") or resolve({}))
    return {
        "run_id": run.pk,
        "url": run.get_absolute_url(),
        "verdict": run.verdict,
        "status": run.status,
        "summary": run.summary,
        "config_hash": run.config_hash,
        "mode": run.mode,
        "store": run.store,
        "truncation": run.truncation,
        "release": run.release_hash,
        "config_label": run.config_label,
        "version_id": run.prompt_version_id,
        "connection": run.connection_name,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "points": run.points,
        "totals": run.totals,
        "test_set_id": run.test_set_id,
        "checks": run.options.get("checks") or resolve({}),
        "failing_cases": failing[:20],
        "borderline_cases": borderline[:20],
    }
