"""Guard pages: the support lead's guard form for a flow's ramp, and acknowledging a breach."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from migrator.core.models import Flow
from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, refusals_go_to
from migrator.rollouts.forms import GuardForm
from migrator.rollouts.models import Breach, Guard
from migrator.rollouts.services import guard as guard_services
from migrator.rollouts.services import shadow as shadow_services


def _flow(request: HttpRequest, slug: str) -> Flow:
    if not request.user.has_perm("cutover.view_cutoverrequest"):
        raise PermissionDenied("Your role cannot see cutovers.")
    return get_object_or_404(Flow.objects.visible_to(request.user), slug=slug)


@login_required
def guard(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    current = Guard.objects.filter(flow=flow).first()
    can_set = request.user.has_perm("cutover.ramp_cutover")
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied("Your role cannot set rollout guards.")
        form = GuardForm(request.POST)
        if form.is_valid():
            try:
                guard_services.set_guard(flow_id=flow.pk, actor=request.user, **form.cleaned_data)
            except ServiceError as exc:
                messages.error(request, message_for(exc))
            else:
                messages.success(request, "Guard set: every ramp step is watched from now on.")
                return redirect("cutover:flow", slug=flow.slug)
    else:
        initial = {}
        if current is not None:
            # A guard an OpenAI alert created has no limits yet: the form's defaults stand in for them.
            initial = {name: getattr(current, name) for name in GuardForm.base_fields
                       if getattr(current, name) is not None}
        form = GuardForm(initial=initial or None)
    return render(request, "rollouts/guard.html", {"flow": flow, "form": form, "guard": current,
                                                   "can_set": can_set})


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    breach = get_object_or_404(Breach.objects.select_related("flow"), pk=pk)
    _flow(request, breach.flow.slug)
    refusals_go_to(request, "cutover:inbox")
    guard_services.acknowledge(breach_id=breach.pk, actor=request.user)
    messages.success(request, f"Breach on {breach.flow.name} acknowledged.")
    return redirect("cutover:inbox")


@login_required
@require_POST
def shadow(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    share = (request.POST.get("share") or "").strip()
    refusals_go_to(request, "cutover:flow", flow.slug)
    result = shadow_services.set_shadow(flow_id=flow.pk, actor=request.user, share=share or "0")
    messages.success(request, f"Shadow run at {result.share}% of production calls." if result.share
                     else "Shadow run stopped.")
    return redirect("cutover:flow", slug=flow.slug)


@login_required
def flow_charts(request: HttpRequest, slug: str) -> HttpResponse:
    """The flow page's live charts (error rate per side, p50/p95 latency per release), loaded by its page_url
    "flow_live_charts" with htmx: the flows app shows them without depending on this one."""
    from migrator.rollouts import selectors

    flow = _flow(request, slug)
    return render(request, "rollouts/_flow_charts.html", {"flow": flow, **selectors.charts(flow)})
