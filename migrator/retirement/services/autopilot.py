"""The retirement autopilot: for each enrolled flow whose production model shuts down within N days and has no
candidate yet, prepare the move to the named successor and put it in front of the support lead.

Steps, each audited under the autopilot's own system actor (it holds only the permissions these steps need):
1. a candidate version: the approved configuration on the successor, reasoning-model rules applied and explained
   in its ledger (``prompts.services.propose_successor``), recorded as the flow's candidate release through the
   releases' candidate service (``cutover.services.releases.create_candidate``), the door people use too;
2. the candidate's tool tests and a validation run of the flow's test set;
3. when all is green, the cutover request with that evidence (``cutover.services.request_cutover``), and a
   notice + webhook for the engineers; the support lead finds the request in the cutover inbox.
It never approves, ramps or relabels anything. A step it cannot take ends the flow's turn as ``blocked`` with the
reason; the next run (daily, or ``manage.py autopilot run``) carries on from where the flow stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from migrator.core.actors import label_of, require, system
from migrator.core.models import Connection, Flow, Job
from migrator.core.services import ServiceError, audit
from migrator.core.services.jobs import run_job_now
from migrator.cutover import services as cutover
from migrator.cutover.models import OPEN_REQUEST, CutoverRequest, FlowRollout
from migrator.cutover.services import releases
from migrator.prompts import services as prompt_services
from migrator.retirement.models import AutopilotAction as A
from migrator.retirement.models import AutopilotEnrolment, AutopilotMove, CatalogueNotice, NoticeKind
from migrator.retirement.services.exposure import flow_deadlines
from migrator.tools.services import start_all_tool_tests
from migrator.tools.toolset import tool_rows
from migrator.validation import pricing
from migrator.validation import projection as validation_projection
from migrator.validation.models import RUN_FINISHED, RunStatus, TestCase, TestSet, ValidationRun
from migrator.validation.services import runs as run_services
from migrator.webhooks.services import emit

# The smallest set that does the job: put an approved prompt on a successor, test tools, run a validation, file a
# cutover request, and use a non-sandbox connection for those tests (core.change_connection is what
# connection_access asks of anyone using a billed key). No approve_cutover, ramp, edit or approve_prompt.
AUTOPILOT_PERMS = frozenset({"prompts.propose_successor", "tools.run_tool_test", "core.run_validation",
                             "cutover.request_cutover", "core.change_connection"})
AUTOPILOT = system("autopilot", "the retirement autopilot", perms=AUTOPILOT_PERMS)
# The command line enrols flows as this actor (an operator at the shell already holds the keys to everything).
AUTOPILOT_ADMIN = system("command:autopilot", "the autopilot command", perms={"retirement.manage_autopilot"})
ALL_SCOPE = "all"


@dataclass
class Outcome:
    slug: str
    model: str
    shutdown_date: date | None
    days_left: int | None
    action: str
    request_id: int | None = None
    reason: str = ""
    version: int | None = None
    validation_run_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"slug": self.slug, "model": self.model,
                                "shutdown_date": self.shutdown_date.isoformat() if self.shutdown_date else None,
                                "days_left": self.days_left, "action": self.action, "request_id": self.request_id}
        if self.reason:
            data["reason"] = self.reason
        return data


# --- enrolment ---------------------------------------------------------------------------------------------


def enrol(*, actor, flow_slug: str | None = None, enabled: bool = True, days_before: int | None = None
          ) -> AutopilotEnrolment:
    """Opt a flow (or, without a slug, every flow) in or out of the autopilot."""
    require(actor, "retirement.manage_autopilot", action="enrol flows in the autopilot")
    days = days_before if days_before is not None else settings.AUTOPILOT_DAYS
    if days < 1:
        raise ServiceError("The autopilot acts at least 1 day before a shutdown; choose days_before >= 1.")
    flow = None
    if flow_slug:
        flow = Flow.objects.filter(slug=flow_slug).first()
        if flow is None:
            raise ServiceError(f"No flow with the slug {flow_slug!r}.")
    scope = f"flow:{flow.pk}" if flow else ALL_SCOPE
    with transaction.atomic():
        row, _ = AutopilotEnrolment.objects.select_for_update().get_or_create(scope=scope, defaults={"flow": flow})
        before = {"enabled": row.enabled, "days_before": row.days_before}
        row.enabled, row.days_before, row.changed_by = enabled, days, label_of(actor)[:150]
        row.save()
        audit.record(actor=actor, verb="migrator.autopilot.enrolled", obj=flow, before=before,
                     after={"enabled": enabled, "days_before": days, "scope": scope})
    return row


def enrolment_for(flows: list[Flow]) -> dict[int, AutopilotEnrolment]:
    rows = {r.scope: r for r in AutopilotEnrolment.objects.all()}
    everyone = rows.get(ALL_SCOPE)
    out = {}
    for flow in flows:
        row = rows.get(f"flow:{flow.pk}") or everyone
        if row is not None and row.enabled:
            out[flow.pk] = row
    return out


# --- the run -----------------------------------------------------------------------------------------------


class Budget:
    """A hard cap on what the validation runs of one autopilot pass may spend (USD). Each run is started with what
    is left as its own budget, so it stops cleanly ("budget reached", results kept) rather than overspend; a flow
    whose projected validation does not fit is left as it stands (blocked, saying so) for a later pass."""

    def __init__(self, limit: Any) -> None:
        self.limit = run_services.parse_budget(limit)
        self.spent = Decimal("0")

    @property
    def left(self) -> Decimal:
        return max(Decimal("0"), (self.limit or Decimal("0")) - self.spent)

    def admit(self, flow: Flow, successor: str, plan: dict[str, Any]) -> Decimal:
        if plan.get("cost_usd") is None:
            raise ServiceError(f"budget: the price of {successor} is unknown, so what validating {flow.name} on it "
                               "costs cannot be counted against the budget; run without a budget, or price the model")
        cost = Decimal(str(plan["cost_usd"]))
        if cost > self.left:
            raise ServiceError(f"budget reached: validating {flow.name} on {successor} is projected at ${cost:.4f}; "
                               f"${self.left:.4f} of the ${self.limit:.4f} budget is left. Nothing was started; a "
                               "later run with more budget carries on from here")
        return self.left.quantize(Decimal("0.0001"))

    def charge(self, amount: float) -> None:
        self.spent += Decimal(str(round(amount or 0, 8)))


def projection(*, as_of: date | None = None, flow_slug: str | None = None) -> dict[str, Any]:
    """What the next pass would spend before it starts: for each enrolled flow in its window that would be
    validated on its successor, the validation's projected requests, tokens and cost (dated prices; "unknown"
    when the successor has no known price), and the totals (cost unknown when any flow's is)."""
    today = as_of or timezone.localdate()
    qs = Flow.objects.select_related("assistant").order_by("slug")
    if flow_slug:
        qs = qs.filter(slug=flow_slug)
    flows = list(qs)
    enrolled = enrolment_for(flows)
    deadlines = flow_deadlines(flows)
    rows = []
    for flow in flows:
        deadline = deadlines[flow.pk]
        days = deadline.days_left(today)
        if flow.pk not in enrolled or days is None or days > enrolled[flow.pk].days_before or not deadline.successor:
            continue
        approved = cutover.approved_version(flow)
        test_set = TestSet.objects.filter(flow=flow).order_by("-id").first()
        if approved is None or test_set is None or _existing_candidate(flow, deadline):
            continue
        move = AutopilotMove.objects.filter(flow=flow, model=deadline.model, successor=deadline.successor).first()
        if move is not None and (move.request_id or move.validation_run_id):  # validated already, or validating
            continue
        plan = _plan(test_set, {**(approved.config or {}), "model": deadline.successor})
        rows.append({"slug": flow.slug, "model": deadline.model, "successor": deadline.successor, **plan})
    known = all(r["cost_usd"] is not None for r in rows)
    return {"as_of": today.isoformat(), "flows": rows, "requests": sum(r["requests"] for r in rows),
            "input_tokens": sum(r["input_tokens"] for r in rows), "output_tokens": sum(r["output_tokens"] for r in rows),
            "cost_usd": round(sum(r["cost_usd"] for r in rows), 6) if known else None,
            "priced_on": pricing.PRICED_ON, "note": "validations only (tool tests are not billed by the token)" + (
                "" if known else "; price unknown for " + ", ".join(sorted({r["successor"] for r in rows
                                                                           if r["cost_usd"] is None})))}


def _plan(test_set: TestSet, config: dict[str, Any]) -> dict[str, Any]:
    version = test_set.current_version
    cases = TestCase.objects.filter(pk__in=version.case_ids) if version is not None else TestCase.objects.none()
    return validation_projection.project(cases=cases, config=config)


def run(*, actor, as_of: date | None = None, flow_slug: str | None = None, inline: bool = True,
        budget_usd: Any = None) -> list[Outcome]:
    """One pass over the enrolled flows (or one flow). ``actor`` is who asked (a person with
    ``retirement.manage_autopilot``, or the autopilot itself); every step acts as the autopilot. ``budget_usd``
    caps what this pass's validation runs may spend (see :class:`Budget`).

    ``inline`` runs the tool tests and validation in this process (the command, the daily job); otherwise they are
    queued and the flow reports ``validating`` until a later pass finds the run finished."""
    if actor is not AUTOPILOT:
        require(actor, "retirement.manage_autopilot", action="run the autopilot")
    today = as_of or timezone.localdate()
    budget = Budget(budget_usd) if budget_usd not in (None, "") else None
    qs = Flow.objects.select_related("assistant").order_by("slug")
    if flow_slug:
        qs = qs.filter(slug=flow_slug)
        if not qs.exists():
            raise ServiceError(f"No flow with the slug {flow_slug!r}.")
    flows = list(qs)
    enrolled = enrolment_for(flows)
    deadlines = flow_deadlines(flows)
    outcomes = []
    for flow in flows:
        deadline = deadlines[flow.pk]
        days = deadline.days_left(today)
        outcome = Outcome(flow.slug, deadline.model, deadline.shutdown_date, days, A.NONE)
        if flow.pk not in enrolled:
            if flow_slug:
                outcome.reason = "not enrolled in the autopilot"
            if days is not None or flow_slug:
                outcomes.append(outcome)
            continue
        limit = enrolled[flow.pk].days_before
        if days is None:
            outcome.reason = f"{deadline.model or 'no model'}: no shutdown date announced"
        elif days > limit:
            outcome.reason = f"{days} days left; the autopilot acts within {limit}"
        else:
            try:
                _advance(flow, deadline, outcome, inline=inline, requested_by=actor, budget=budget)
            except ServiceError as exc:  # a refusal of one step blocks this flow only
                outcome.action, outcome.reason = A.BLOCKED, str(exc)
                _remember(flow, deadline, outcome)
        outcomes.append(outcome)
    audit.record(actor=AUTOPILOT, verb="migrator.autopilot.ran", data={
        "as_of": today.isoformat(), "asked_by": label_of(actor),
        "budget_usd": str(budget.limit) if budget else None, "spent_usd": str(budget.spent) if budget else None,
        "flows": [o.as_json() for o in outcomes if o.action != A.NONE]})
    return outcomes


def _remember(flow: Flow, deadline, outcome: Outcome, **fields) -> AutopilotMove:
    move, _ = AutopilotMove.objects.get_or_create(
        flow=flow, model=deadline.model, successor=deadline.successor or "",
        defaults={"shutdown_date": deadline.shutdown_date})
    changed = move.action != outcome.action or move.reason != outcome.reason
    for key, value in {"action": outcome.action, "reason": outcome.reason[:4000], **fields}.items():
        setattr(move, key, value)
    move.save()
    if changed and outcome.action == A.BLOCKED:
        _notice(flow, deadline, NoticeKind.AUTOPILOT_BLOCKED, outcome.reason)
    return move


def _existing_candidate(flow: Flow, deadline) -> str:
    """Why the flow needs no new candidate ('' when it does): a move off the model is already under way."""
    open_req = CutoverRequest.objects.filter(flow=flow, status__in=OPEN_REQUEST).select_related("version").first()
    if open_req is not None:
        return (f"cutover request #{open_req.pk} (v{open_req.version.number} on "
                f"{open_req.version.config.get('model')}) is already open")
    rollout = FlowRollout.objects.filter(flow=flow).select_related("candidate", "candidate_release").first()
    if rollout is not None and rollout.candidate_id:
        return f"v{rollout.candidate.number} is already ramping"
    if rollout is not None and rollout.candidate_release_id:
        return f"release {rollout.candidate_release.hash[:12]} is already ramping"
    return ""


def _advance(flow: Flow, deadline, outcome: Outcome, *, inline: bool, requested_by, budget: Budget | None = None
             ) -> None:
    move = AutopilotMove.objects.filter(flow=flow, model=deadline.model, successor=deadline.successor or "").first()
    if move is not None and move.request_id:
        request = CutoverRequest.objects.filter(pk=move.request_id).first()
        if request is not None and request.status in OPEN_REQUEST:
            outcome.action, outcome.request_id = A.REQUEST_FILED, request.pk
            outcome.reason = f"request #{request.pk} awaits the support lead"
            return
    base = _production_version(flow)
    if base is None:  # nothing to move yet; its first cutover is a person's choice of version (and model)
        outcome.reason = "not in production yet"
        return
    busy = _existing_candidate(flow, deadline)
    if busy:
        outcome.reason = busy
        return
    if not deadline.successor:
        raise ServiceError(f"the catalogue names no successor for {deadline.model}")
    approved = cutover.approved_version(flow)
    if approved is None:
        raise ServiceError("no approved prompt version to move")
    if base.pk != approved.pk:
        raise ServiceError(f"production serves v{base.number} but v{approved.number} is approved: a person decides "
                           "which one moves")
    test_set = TestSet.objects.filter(flow=flow).order_by("-id").first()
    if test_set is None:
        raise ServiceError(f"{flow.name} has no test set to validate a candidate with: build one on the Validation tab")
    connection = _connection(flow)

    version = move.version if move is not None and move.version_id else None
    if version is None or version.parent_id != approved.pk:
        version = prompt_services.propose_successor(version_id=approved.pk, successor=deadline.successor,
                                                    actor=AUTOPILOT, info=deadline.info)
        # The candidate release goes through the one door people use too (Save mode, ``flow mode``), so it is
        # recorded, audited and later requested exactly like theirs.
        release = releases.create_candidate(
            flow_id=flow.pk, actor=AUTOPILOT, version_id=version.pk,
            reason=(f"autopilot: {deadline.model} shuts down on {deadline.shutdown_date:%Y-%m-%d}; v{version.number} "
                    f"is the approved v{approved.number} on the named successor {deadline.successor}"))
        outcome.action = A.CANDIDATE_CREATED
        move = _remember(flow, deadline, outcome, version=version, validation_run=None, request=None)
        audit.record(actor=AUTOPILOT, verb="migrator.autopilot.candidate_created", obj=flow, data={
            "version": version.number, "release": release.hash, "model": deadline.model,
            "successor": deadline.successor,
            "shutdown_date": deadline.shutdown_date.isoformat(), "asked_by": label_of(requested_by),
            "ledger": [e.get("reason") for e in version.ledger[:4] if isinstance(e, dict)]})
    outcome.version = version.number

    run = move.validation_run if move.validation_run_id else None
    if run is not None and run.prompt_version_id != version.pk:
        run = None
    if run is None:
        cap = budget.admit(flow, deadline.successor, _plan(test_set, version.config or {})) if budget else None
        if tool_rows(flow.assistant, version):
            _start(lambda: start_all_tool_tests(assistant_id=flow.assistant_id, actor=AUTOPILOT,
                                                connection_id=connection.pk, version_id=version.pk), inline)
        run = _start_validation(test_set, connection, version, inline, budget_usd=cap)
        move = _remember(flow, deadline, outcome, validation_run=run)
        if budget is not None:
            run.refresh_from_db()
            budget.charge(run.spent_usd if run.is_finished else float(run.projection.get("cost_usd") or 0))
    run.refresh_from_db()
    outcome.validation_run_id = run.pk
    if run.status not in RUN_FINISHED:
        outcome.action, outcome.reason = A.VALIDATING, f"validation run #{run.pk} is {run.get_status_display().lower()}"
        _remember(flow, deadline, outcome)
        return
    if run.status == RunStatus.BUDGET_REACHED:
        # Its results are kept on the run; the next pass validates afresh (with the budget it is given then).
        AutopilotMove.objects.filter(pk=move.pk).update(validation_run=None)
        raise ServiceError(f"budget reached: validation run #{run.pk} of v{version.number} stopped at its budget "
                           f"(${run.spent_usd:.4f} spent, results kept); the next autopilot run validates again")
    if run.status != RunStatus.PASSED:
        raise ServiceError(f"validation run #{run.pk} of v{version.number} on {deadline.successor} did not pass: "
                           f"{run.summary}")
    try:
        request = cutover.request_cutover(
            flow_id=flow.pk, actor=AUTOPILOT, version_number=version.number,
            note=(f"Autopilot: {deadline.model} shuts down on {deadline.shutdown_date:%Y-%m-%d}. v{version.number} "
                  f"is the approved v{approved.number} on its successor {deadline.successor} (see the ledger); "
                  f"validation run #{run.pk}: {run.summary}"))
    except cutover.EvidenceIncomplete as exc:
        raise ServiceError("the evidence is incomplete: " + "; ".join(f"{i.key}: {i.summary}" for i in exc.missing)
                           ) from None
    outcome.action, outcome.request_id = A.REQUEST_FILED, request.pk
    outcome.reason = f"request #{request.pk} awaits the support lead"
    _remember(flow, deadline, outcome, request=request)
    audit.record(actor=AUTOPILOT, verb="migrator.autopilot.request_filed", obj=flow,
                 data={"request_id": request.pk, "version": version.number, "validation_run": run.pk})
    _notice(flow, deadline, NoticeKind.AUTOPILOT_FILED,
            f"request #{request.pk}: v{version.number} on {deadline.successor}, validation run #{run.pk} passed")
    emit(event="autopilot.request_filed", actor=AUTOPILOT, payload={
        "flow": {"slug": flow.slug, "name": flow.name}, "request_id": request.pk, "version": version.number,
        "model": deadline.model, "successor": deadline.successor,
        "shutdown_date": deadline.shutdown_date.isoformat(), "validation_run": run.pk,
        "url": reverse("cutover:request_detail", args=[request.pk])})


def _production_version(flow: Flow):
    rollout = FlowRollout.objects.filter(flow=flow).select_related("production").first()
    return rollout.production if rollout is not None and rollout.production_id else None


def _connection(flow: Flow) -> Connection:
    """Where the flow was validated last, else its assistant's connection, else the sandbox."""
    last = ValidationRun.objects.filter(flow=flow, connection__isnull=False).order_by("-id").first()
    if last is not None:
        return last.connection
    if getattr(flow.assistant, "connection_id", None):
        return flow.assistant.connection
    found = Connection.objects.filter(is_sandbox=True).order_by("pk").first()
    if found is None:
        raise ServiceError("no connection to test the candidate on")
    return found


def _start(start: Callable[[], list[Job]], inline: bool) -> list[Job]:
    if not inline:
        return start()
    with transaction.atomic():  # as the demo does: run now, before the messages would reach a broker
        return [run_job_now(job) or job for job in start()]


def _start_validation(test_set: TestSet, connection: Connection, version, inline: bool,
                      budget_usd: Decimal | None = None) -> ValidationRun:
    holder: list[ValidationRun] = []

    def start() -> list[Job]:
        run = run_services.start_run(actor=AUTOPILOT, test_set_id=test_set.pk, connection_id=connection.pk,
                                     version_id=version.pk, budget_usd=budget_usd)
        holder.append(run)
        return [run.job]

    _start(start, inline)
    return ValidationRun.objects.get(pk=holder[0].pk)


def _notice(flow: Flow, deadline, kind: str, detail: str) -> None:
    """The engineers' inbox item (and dashboard notice) for what the autopilot did or could not do."""
    CatalogueNotice.objects.create(kind=kind, model_id=deadline.model, before=deadline.model,
                                   after=deadline.successor or "", source=detail[:300],
                                   flows=[{"slug": flow.slug, "name": flow.name}])
