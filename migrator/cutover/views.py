"""Cutover pages: the support lead's inbox, the evidence view of a request, and each flow's rollout."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from migrator.core.models import Flow
from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, paginate, refusals_go_to
from migrator.cutover import preview, services
from migrator.cutover.forms import DecisionForm, RampForm, ReasonForm, RequestForm
from migrator.cutover.models import CutoverRequest, FlowRollout, ServingChange
from migrator.cutover.selectors import flow_stages
from migrator.cutover.serving import NotServable, flow_config
from migrator.prompts.diff import compare_configs


def _need_view(request: HttpRequest) -> None:
    if not request.user.has_perm("cutover.view_cutoverrequest"):
        raise PermissionDenied("Your role cannot see cutovers.")


def _flow(request: HttpRequest, slug: str) -> Flow:
    _need_view(request)
    return get_object_or_404(Flow.objects.visible_to(request.user).select_related("assistant"), slug=slug)


def _errors(form) -> str:
    return "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in form.errors.items())

STAGES_PER_PAGE = 50


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    _need_view(request)
    awaiting = (CutoverRequest.objects.visible_to(request.user).awaiting()
                .select_related("flow", "flow__assistant", "version", "requested_by").order_by("requested_at"))
    can_decide = request.user.has_perm("cutover.approve_cutover")
    mine = [r for r in awaiting if can_decide and services.may_decide(request.user, r)]
    # Every flow's stage, a page at a time: an estate has thousands of flows (bench/pages.py).
    stages_page = paginate(request, Flow.objects.visible_to(request.user).order_by("slug").values_list("pk", flat=True),
                           STAGES_PER_PAGE)
    return render(request, "cutover/inbox.html", {
        "awaiting": awaiting, "for_me": mine, "can_decide": can_decide,
        "stages": flow_stages(Flow.objects.filter(pk__in=list(stages_page.object_list))),
        "page": stages_page,
        "recent": ServingChange.objects.select_related("flow", "from_version", "to_version")[:15],
    })


def _evidence_context(request: HttpRequest, cut: CutoverRequest) -> dict:
    flow = cut.flow
    rollout = FlowRollout.objects.filter(flow=flow).select_related("production").first()
    production = rollout.production if rollout and rollout.production_id else None
    current = services.evidence_for(flow, cut.version)
    return {
        "cut": cut, "flow": flow, "production": production,
        "diff": compare_configs(production.config if production else {}, cut.version.config),
        "snapshot": cut.evidence, "current": current, "stale": services.still_current(cut, flow),
        "can_decide": services.may_decide(request.user, cut),
        "own_request": cut.requested_by_id == request.user.pk,
        "decision_form": DecisionForm(),
        "loosened": services.loosened_of(current)[0],
    }


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need_view(request)
    cut = get_object_or_404(CutoverRequest.objects.visible_to(request.user).select_related(
        "flow", "flow__assistant", "version", "requested_by", "decided_by"), pk=pk)
    return render(request, "cutover/request_detail.html", _evidence_context(request, cut))


def _confirm(request: HttpRequest, preview, *, action: str, cancel: str, hidden: dict, reason: str,
             reason_label: str, error: str = "") -> HttpResponse:
    """The confirmation page of an action that changes production: it says what production gets and for whom,
    and keeps the reason for the audit log. Server-rendered (no inline script), so it works under a strict CSP."""
    return render(request, "cutover/confirm.html", {
        "preview": preview, "action": action, "cancel": cancel, "hidden": hidden, "reason": reason,
        "reason_label": reason_label, "error": error,
    }, status=422 if error else 200)


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirmed") == "yes"


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    _need_view(request)
    cut = get_object_or_404(CutoverRequest.objects.visible_to(request.user).select_related("flow", "version"), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was decided: " + _errors(form))
        return redirect(cut)
    approving = form.cleaned_data["decision"] == "approve"
    if approving and not _confirmed(request):
        return _confirm(request, preview.approval(cut), action=reverse("cutover:decide", args=[cut.pk]),
                        cancel=cut.get_absolute_url(),
                        hidden={"decision": "approve", "accept_loosened": form.cleaned_data["accept_loosened"]},
                        reason=form.cleaned_data["reason"], reason_label="Reason (kept with the decision)")
    refusals_go_to(request, cut)
    if approving:
        cut = services.approve(request_id=cut.pk, actor=request.user, reason=form.cleaned_data["reason"],
                               accept_loosened=form.cleaned_data["accept_loosened"])
    else:
        cut = services.decline(request_id=cut.pk, actor=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, f"Request #{cut.pk} {cut.get_status_display().lower()}.")
    return redirect("cutover:flow", slug=cut.flow.slug)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    _need_view(request)
    cut = get_object_or_404(CutoverRequest.objects.visible_to(request.user), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not withdrawn: " + _errors(form))
        return redirect(cut)
    refusals_go_to(request, cut)
    services.withdraw(request_id=cut.pk, actor=request.user, reason=form.cleaned_data["reason"])
    return redirect(cut)


@login_required
def flow_cutover(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    rollout = FlowRollout.objects.filter(flow=flow).select_related("production", "candidate").first()
    open_req = services.open_request(flow)
    version = services.approved_version(flow)
    try:
        served = flow_config(flow)
        problem = ""
    except NotServable as exc:
        served, problem = None, str(exc)
    return render(request, "cutover/flow.html", {
        "flow": flow, "rollout": rollout, "open_request": open_req, "version": version,
        "evidence": services.evidence_for(flow, version) if version else [],
        "served": served, "serve_problem": problem,
        "requests": flow.cutover_requests.select_related("version")[:20],
        "changes": flow.serving_changes.select_related("from_version", "to_version")[:30],
        "request_form": RequestForm(), "ramp_form": RampForm(), "steps": services.DEFAULT_STEPS,
        "can_request": request.user.has_perm("cutover.request_cutover"),
        "can_ramp": request.user.has_perm("cutover.ramp_cutover"),
        "first_cutover": services.is_first_cutover(flow, rollout),
    })


def _act(request: HttpRequest, flow: Flow, func, success: str, **kwargs) -> HttpResponse:
    refusals_go_to(request, "cutover:flow", flow.slug)
    func(**kwargs)
    messages.success(request, success)
    return redirect("cutover:flow", slug=flow.slug)


@login_required
@require_POST
def request_cutover(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    form = RequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not requested: " + _errors(form))
        return redirect("cutover:flow", slug=flow.slug)
    return _act(request, flow, services.request_cutover, "Cutover requested: a support lead decides on the evidence.",
                flow_id=flow.pk, actor=request.user, version_number=form.cleaned_data["version"],
                note=form.cleaned_data["note"])


@login_required
@require_POST
def ramp(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    form = RampForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not ramped: " + _errors(form))
        return redirect("cutover:flow", slug=flow.slug)
    percent, reason = form.cleaned_data["percent"], form.cleaned_data["reason"].strip()
    if not _confirmed(request) or not reason:
        return _confirm(request, preview.ramp(flow, percent), action=reverse("cutover:ramp", args=[flow.slug]),
                        cancel=reverse("cutover:flow", args=[flow.slug]), hidden={"percent": percent},
                        reason=reason, reason_label="Why now? (kept in the audit log)",
                        error="Say why you ramp now: the audit log keeps it." if _confirmed(request) else "")
    return _act(request, flow, services.ramp, f"{preview.ramp(flow, percent).sentence}",
                flow_id=flow.pk, actor=request.user, percent=percent, reason=reason)


@login_required
@require_POST
def rollback(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
    rollout = FlowRollout.objects.filter(flow=flow).first()
    first = services.is_first_cutover(flow, rollout)
    if not _confirmed(request) or not reason:
        shown = preview.rollback(flow)
        if first:
            # No previous release: the only rollback is to stop serving, and the confirmation says so.
            shown = replace(shown, title=f"Stop serving {flow.name}?", button="Stop serving: production gets 409")
        return _confirm(request, shown, action=reverse("cutover:rollback", args=[flow.slug]),
                        cancel=reverse("cutover:flow", args=[flow.slug]),
                        hidden={"stop_serving": "yes"} if first else {}, reason=reason,
                        reason_label="Why roll back? (kept in the audit log)",
                        error="Say why you roll back: the audit log keeps it." if _confirmed(request) else "")
    try:
        rollout = services.rollback(flow_id=flow.pk, actor=request.user, reason=reason,
                                    stop_serving=request.POST.get("stop_serving") == "yes")
    except ServiceError as exc:
        messages.error(request, message_for(exc))
    else:
        # Say exactly what production gets now, never "the previous version" when there was none.
        if rollout.production_gets == services.NOT_CUT_OVER:
            messages.success(request, f"Stopped serving {flow.name}: production now gets {services.NOT_CUT_OVER} "
                                      "on every request, until a new cutover is approved.")
        else:
            messages.success(request, f"Rolled back: {rollout.production_gets}.")
    return redirect("cutover:flow", slug=flow.slug)
