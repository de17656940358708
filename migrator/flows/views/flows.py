"""Flow pages: the list, an assistant's flows (with the create form), and one flow's decisions and actions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from migrator.core.models import Assistant, AuditEvent, Flow
from migrator.core.navigation import assistant_tabs
from migrator.core.next_actions import flow_deadlines
from migrator.core.search import text_filter
from migrator.core.services import ServiceError
from migrator.core.services.status import change_flow_status, flow_actions
from migrator.core.status import FlowMode, FlowStatus
from migrator.core.views.common import message_for, paginate
from migrator.cutover.services import approved_version, evidence_for
from migrator.cutover.serving import NotServable, flow_config
from migrator.flows.forms import (
    FlowCreateForm,
    FlowEditForm,
    FlowFilterForm,
    FlowTransitionForm,
    ModeForm,
)
from migrator.flows.found import flows_found
from migrator.flows.services import flows as flow_services
from migrator.flows.services import traffic
from migrator.tools import services as tool_services
from migrator.tools import toolset
from migrator.tools.codegen import loop_code


def _flow(request: HttpRequest, slug: str) -> Flow:
    return get_object_or_404(Flow.objects.visible_to(request.user).select_related("assistant"), slug=slug)


def _form_errors(form) -> str:
    return "; ".join(f"{name if name != '__all__' else 'form'}: {' '.join(errs)}" for name, errs in form.errors.items())


# --- lists -------------------------------------------------------------------------------------------------


FOUND_SHOWN = 8  # suggestions on the flows page


def flow_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_flow"):
        raise PermissionDenied("You may not view flows.")
    form = FlowFilterForm(request.GET)
    qs = Flow.objects.visible_to(request.user).select_related("assistant")
    if form.is_valid():
        cd = form.cleaned_data
        if cd["q"]:
            q = cd["q"].strip()
            # The assistant side as an id subquery (its own trigram indexes), so counting needs no join. Legacy
            # ids all look alike ("asst_…"), so their index only helps when the query is one.
            fields = ("name", "legacy_id") if q.lower().startswith("asst") else ("name",)
            assistants = Assistant.objects.filter(text_filter(q, fields)).values("pk")
            qs = qs.filter(text_filter(q, ("name", "slug")) | Q(assistant__in=assistants))
        if cd["status"]:
            qs = qs.filter(status=cd["status"])
        if cd["mode"] == "none":
            qs = qs.filter(mode="")
        elif cd["mode"]:
            qs = qs.filter(mode=cd["mode"])
        if cd["assistant"]:
            qs = qs.filter(assistant_id=cd["assistant"])
    # Sorted on the flow table's own (name, id) index: sorting by the assistant's name joined and sorted every row.
    qs = qs.order_by("name", "pk")
    deadlines_of = flow_deadlines()  # the model catalogue's app, when installed
    if deadlines_of is not None and form.is_valid() and form.cleaned_data["sort"] == "days":
        qs = deadlines_of.order(qs)
    counts = {s: 0 for s in FlowStatus.values}
    for status, n in Flow.objects.visible_to(request.user).order_by().values_list("status").annotate(n=Count("pk")):
        counts[status] = counts.get(status, 0) + n
    page = paginate(request, qs)
    deadlines = deadlines_of.deadlines(page.object_list) if deadlines_of is not None else {}
    for flow in page.object_list:
        flow.deadline = deadlines.get(flow.pk)
    context = {
        "today": timezone.localdate(),
        "form": form,
        "page": page,
        "total": page.paginator.count,
        "counts": [(FlowStatus(s).label, s, n) for s, n in counts.items()],
    }
    template = "flows/flow_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"  # the results fragment has no suggestions card
    else:
        # Suggestions belong to the whole list's first page; a filtered or later page is about what exists.
        context["show_found"] = not any(request.GET.get(k) for k in ("q", "status", "mode", "assistant", "page", "sort"))
    return render(request, template, context)


def found_card(request: HttpRequest) -> HttpResponse:
    """The flows page's "flows found in the imported threads" card, loaded by htmx once the list is shown.

    Finding them groups every thread that names a flow (an index-only scan that grows with the threads), so
    the list does not wait for it; an empty answer removes the card's placeholder."""
    if not request.user.has_perm("core.view_flow"):
        raise PermissionDenied("You may not view flows.")
    found = flows_found(assistants=Assistant.objects.visible_to(request.user), limit=FOUND_SHOWN)
    return render(request, "flows/flow_list.html#found", {"found": found})


def _assistant_flows_context(request: HttpRequest, assistant: Assistant, form: FlowCreateForm | None = None) -> dict:
    return {
        "assistant": assistant,
        "flows": assistant.flows.order_by("name"),
        "form": form or FlowCreateForm(),
        "can_add": request.user.has_perm("core.add_flow"),
        "gate": tool_services.tool_gate(assistant),
        "tabs": assistant_tabs(assistant.pk, "flows"),
        "found": flows_found(assistants=[assistant]),
    }


def assistant_flows(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = get_object_or_404(Assistant.objects.visible_to(request.user), pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("core.add_flow"):
            raise PermissionDenied("You may not create flows.")
        form = FlowCreateForm(request.POST)
        if form.is_valid():
            try:
                flow = flow_services.create_flow(
                    assistant_id=assistant.pk, slug=form.cleaned_data["slug"], name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"], actor=request.user,
                )
            except ServiceError as exc:
                form.add_error(None, message_for(exc))
            else:
                messages.success(request, f"Flow {flow.name} created. Review the recommended mode below.")
                return redirect(flow)
        return render(request, "flows/assistant_flows.html", _assistant_flows_context(request, assistant, form),
                      status=422)
    return render(request, "flows/assistant_flows.html", _assistant_flows_context(request, assistant))


# --- one flow ----------------------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, flow: Flow, **forms) -> dict:
    assistant = flow.assistant
    rec = flow.recommendation or {}
    initial_mode = flow.mode or flow.recommended_mode or FlowMode.STATELESS
    mode_form = forms.get("mode_form") or ModeForm(initial={
        "mode": initial_mode,
        "truncation": flow.truncation if flow.mode else rec.get("truncation", flow.truncation),
        "store": flow.store if flow.mode else rec.get("store", flow.store),
    })
    try:
        served = flow_config(flow)
        serve_problem = ""
    except NotServable as exc:
        served, serve_problem = None, str(exc)
    # Evidence for the approved version (the cutover candidate), else for the draft under review.
    evidence_version = approved_version(flow) or toolset.latest_version(assistant)
    gate = tool_services.tool_gate(assistant)
    code, code_mode = loop_code(assistant, flow)
    events = AuditEvent.objects.for_object(flow).select_related("actor")[:30]
    return {
        "flow": flow,
        "assistant": assistant,
        "rec": rec,
        "mode_form": mode_form,
        "edit_form": forms.get("edit_form") or FlowEditForm(
            initial={"name": flow.name, "description": flow.description, "streams": flow.streams}),
        "transition_form": forms.get("transition_form") or FlowTransitionForm(),
        "actions": flow_actions(flow=flow, user=request.user),
        "transition_url": reverse("flows:transition", args=[flow.slug]),
        "evidence": evidence_for(flow, evidence_version) if evidence_version else [],
        "evidence_version": evidence_version,
        "cutover_url": reverse("cutover:flow", args=[flow.slug]),
        "can_change": request.user.has_perm("core.change_flow"),
        "served": served,
        "serve_problem": serve_problem,
        "gate": gate,
        "code": code,
        "code_mode": code_mode,
        "api_url": request.build_absolute_uri(reverse("api:v1:flow_config", args=[flow.slug])),
        "history": flow.status_changes.select_related("actor")[:20],
        "events": events,
        "sibling_flows": assistant.flows.exclude(pk=flow.pk).order_by("name"),
        "tabs": assistant_tabs(assistant.pk, "flows"),
        "traffic": traffic.flow_days(flow),
    }


def flow_detail(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    return render(request, "flows/flow_detail.html", _detail_context(request, flow))


def _rerender(request: HttpRequest, flow: Flow, message: str, **forms) -> HttpResponse:
    messages.error(request, message)
    flow.refresh_from_db()
    return render(request, "flows/flow_detail.html", _detail_context(request, flow, **forms), status=422)


@require_POST
def choose_mode(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    if not request.user.has_perm("core.change_flow"):
        raise PermissionDenied("You may not choose a flow's mode.")
    form = ModeForm(request.POST)
    if not form.is_valid():
        return _rerender(request, flow, "The mode was not saved: " + _form_errors(form), mode_form=form)
    try:
        flow, decision = flow_services.choose_mode(
            flow_id=flow.pk, actor=request.user, mode=form.cleaned_data["mode"],
            truncation=form.cleaned_data["truncation"], store=form.cleaned_data["store"],
            reason=form.cleaned_data["reason"],
        )
    except ServiceError as exc:
        form.add_error(None, message_for(exc))
        return _rerender(request, flow, f"The mode was not saved: {exc}", mode_form=form)
    verb = "Accepted the recommendation" if decision == "accepted" else "Overrode the recommendation"
    messages.success(request, f"{verb}: {flow.name} uses {flow.get_mode_display().lower()}.{_serving_note(flow)}")
    return redirect(flow)


def _serving_note(flow: Flow) -> str:
    """On a live flow, say that production is unchanged and what is now the candidate."""
    outcome = flow_services.mode_outcome(flow)
    if not outcome["production_release"]:
        return ""
    served = outcome["production_release"][:12]
    if not outcome["candidate_release"]:
        return f" Production serves release {served}, unchanged."
    return (f" Production still serves release {served}; these settings are candidate release "
            f"{outcome['candidate_release'][:12]}, served only after a cutover (validate, request, approval).")


@require_POST
def accept_recommendation(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    if not request.user.has_perm("core.change_flow"):
        raise PermissionDenied("You may not choose a flow's mode.")
    rec = flow.recommendation or {}
    if not flow.recommended_mode:
        return _rerender(request, flow, "There is no recommendation to accept; choose a mode and say why.")
    try:
        flow, _decision = flow_services.choose_mode(
            flow_id=flow.pk, actor=request.user, mode=flow.recommended_mode,
            truncation=rec.get("truncation", flow.truncation), store=bool(rec.get("store", flow.store)),
        )
    except ServiceError as exc:
        return _rerender(request, flow, f"The recommendation was not accepted: {message_for(exc)}")
    messages.success(request, f"Accepted the recommendation: {flow.name} uses {flow.get_mode_display().lower()}."
                              f"{_serving_note(flow)}")
    return redirect(flow)


@require_POST
def refresh_recommendation(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    flow = flow_services.refresh_recommendation(flow_id=flow.pk, actor=request.user)
    messages.success(request, f"Recomputed from {flow.recommendation.get('thread_count', 0)} thread(s).")
    return redirect(flow)


@require_POST
def transition(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    form = FlowTransitionForm(request.POST)
    if not form.is_valid():
        return _rerender(request, flow, "The status was not changed: " + _form_errors(form), transition_form=form)
    target = form.cleaned_data["to"]
    if target == FlowStatus.BLOCKED and not form.cleaned_data["reason"].strip():
        form.add_error("reason", "Say why the flow is blocked.")
        return _rerender(request, flow, "The status was not changed: say why the flow is blocked.",
                         transition_form=form)
    try:
        flow, changed = change_flow_status(flow_id=flow.pk, to=target, actor=request.user,
                                           reason=form.cleaned_data["reason"])
    except ServiceError as exc:
        return _rerender(request, flow, message_for(exc), transition_form=form)
    if changed:
        messages.success(request, f"{flow.name} is now {flow.get_status_display().lower()}.")
    else:
        messages.info(request, f"{flow.name} was already {flow.get_status_display().lower()}.")
    return redirect(flow)


@require_POST
def edit_flow(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    if not request.user.has_perm("core.change_flow"):
        raise PermissionDenied("You may not edit flows.")
    form = FlowEditForm(request.POST)
    if not form.is_valid():
        return _rerender(request, flow, "The flow was not saved: " + _form_errors(form), edit_form=form)
    try:
        flow_services.update_flow(flow_id=flow.pk, actor=request.user, name=form.cleaned_data["name"],
                                  description=form.cleaned_data["description"], streams=form.cleaned_data["streams"])
    except ServiceError as exc:
        return _rerender(request, flow, f"The flow was not saved: {message_for(exc)}", edit_form=form)
    messages.success(request, "Saved.")
    return redirect(flow)
