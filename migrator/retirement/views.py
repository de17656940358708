"""Retirement pages: the model catalogue (and a sync on demand), the notices inbox."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from migrator.core import model_catalog
from migrator.core.services import ServiceError
from migrator.core.services.jobs import start_job
from migrator.retirement.models import CatalogueEntry, CatalogueNotice
from migrator.retirement.services import autopilot, catalogue
from migrator.validation import pricing
from migrator.validation.services import runs as run_services


def _need(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


@login_required
def catalogue_page(request: HttpRequest) -> HttpResponse:
    _need(request, "retirement.view_catalogueentry")
    today = timezone.localdate()
    entries = list(CatalogueEntry.objects.exclude(shutdown_date__isnull=True).order_by("shutdown_date", "model_id"))
    upcoming = [e for e in entries if e.shutdown_date >= today]
    for entry in upcoming:
        entry.days_left = (entry.shutdown_date - today).days
        entry.successor_price = pricing.describe(entry.successor) if entry.successor else ""
    try:
        shipped = model_catalog.shipped()
        file_info = {"path": shipped.path, "updated": shipped.updated, "error": ""}
    except model_catalog.CatalogueFileError as exc:
        file_info = {"path": str(model_catalog.catalogue_path()), "updated": "", "error": str(exc)}
    last = CatalogueEntry.objects.order_by("-synced_at").values_list("synced_at", flat=True).first()
    return render(request, "retirement/catalogue.html", {
        "upcoming": upcoming, "past": [e for e in entries if e.shutdown_date < today][-10:], "today": today,
        "file": file_info, "last_sync": last, "open_notices": catalogue.open_notices()[:5],
        "can_sync": request.user.has_perm("retirement.sync_catalogue"), "priced_on": pricing.PRICED_ON,
    })


@login_required
@require_POST
def sync_now(request: HttpRequest) -> HttpResponse:
    _need(request, "retirement.sync_catalogue")
    job = start_job(kind="retirement.sync_models", actor=request.user, subject_label="Model catalogue sync")
    messages.success(request, "Syncing the model catalogue: each connection's /models, then the catalogue file.")
    return redirect(job.get_absolute_url())


@login_required
def notices(request: HttpRequest) -> HttpResponse:
    _need(request, "retirement.view_cataloguenotice")
    qs = CatalogueNotice.objects.select_related("acknowledged_by")
    return render(request, "retirement/notices.html", {
        "open": list(qs.filter(acknowledged_at__isnull=True)), "done": list(qs.filter(acknowledged_at__isnull=False)[:20]),
        "can_ack": request.user.has_perm("retirement.change_cataloguenotice"),
    })


@login_required
@require_POST
def acknowledge(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = catalogue.acknowledge(notice_id=notice_id, actor=request.user)
    messages.success(request, f"Acknowledged: {notice.summary}.")
    return redirect("retirement:notices")


@login_required
def autopilot_page(request: HttpRequest) -> HttpResponse:
    _need(request, "retirement.view_catalogueentry")
    from migrator.retirement.models import AutopilotEnrolment, AutopilotMove

    enrolments = list(AutopilotEnrolment.objects.select_related("flow").order_by("scope"))
    return render(request, "retirement/autopilot.html", {
        "everyone": next((e for e in enrolments if e.scope == autopilot.ALL_SCOPE), None),
        "flows": [e for e in enrolments if e.flow_id],
        "moves": AutopilotMove.objects.select_related("flow", "version", "validation_run", "request")[:50],
        "can_manage": request.user.has_perm("retirement.manage_autopilot"),
        "default_days": settings.AUTOPILOT_DAYS, "projection": autopilot.projection(),
    })


@login_required
@require_POST
def autopilot_enrol(request: HttpRequest) -> HttpResponse:
    slug = (request.POST.get("flow") or "").strip() or None
    raw_days = (request.POST.get("days") or "").strip()
    try:
        days = int(raw_days) if raw_days else None
    except ValueError:
        messages.error(request, f"Days before the shutdown must be a whole number, not {raw_days!r}.")
        return redirect("retirement:autopilot")
    row = autopilot.enrol(actor=request.user, flow_slug=slug, enabled=request.POST.get("enabled") != "0",
                          days_before=days)
    messages.success(request, f"Autopilot {'on' if row.enabled else 'off'} for {slug or 'every flow'}.")
    return redirect("retirement:autopilot")


@login_required
@require_POST
def autopilot_run(request: HttpRequest) -> HttpResponse:
    _need(request, "retirement.manage_autopilot")
    raw = (request.POST.get("budget_usd") or "").strip()
    try:
        budget = run_services.parse_budget(raw)
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("retirement:autopilot")
    job = start_job(kind="retirement.autopilot", actor=request.user, subject_label="Retirement autopilot",
                    params={"budget_usd": str(budget)} if budget is not None else {})
    return redirect(job.get_absolute_url())
