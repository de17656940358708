"""Diagnostics pages: one per flow, the system checks (a fragment the System page loads), a flow-page badge."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from migrator.core import diagnostics as registry
from migrator.core.models import Flow
from migrator.core.roles import has_role
from migrator.diagnostics.checks import data


def _flow(request: HttpRequest, slug: str) -> Flow:
    flow = Flow.objects.visible_to(request.user).select_related("assistant").filter(slug=slug).first()
    if flow is None:
        raise Http404("No such flow.")
    return flow


def _grouped(results: list[registry.Result]) -> list[dict]:
    groups: dict[str, list[registry.Result]] = {}
    for r in results:
        groups.setdefault(r.group or "Other", []).append(r)
    return [{"name": name, "results": items, "worst": registry.worst(items)} for name, items in groups.items()]


def flow_diagnostics(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    results = registry.run_flow(flow)
    return render(request, "diagnostics/flow.html", {
        "flow": flow, "assistant": flow.assistant, "groups": _grouped(results), "counts": registry.counts(results),
        "worst": registry.worst(results), "now": timezone.now(), "releases": data.releases(flow),
        "command": f"python manage.py diagnose --flow {flow.slug}"})


def flow_summary(request: HttpRequest, slug: str) -> HttpResponse:
    """The small card the flow page includes (its page_url "flow_diagnostics_summary" loads it with htmx)."""
    flow = _flow(request, slug)
    results = registry.run_flow(flow)
    return render(request, "diagnostics/flow_summary.html", {
        "flow": flow, "counts": registry.counts(results), "worst": registry.worst(results),
        "releases": data.releases(flow), "top": sorted((r for r in results if r.status in (registry.FAIL, registry.WARN)),
                      key=lambda r: registry.SEVERITY[r.status])[:3]})


def system_checks(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user):  # hosts, queues and workers: not for a signed-in user in no group
        raise PermissionDenied
    results = registry.run_system()
    template = "diagnostics/system_checks.html" if request.htmx else "diagnostics/system.html"
    return render(request, template, {"results": results, "counts": registry.counts(results),
                                      "worst": registry.worst(results), "now": timezone.now()})
