from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from migrator.core.forms import JobFilterForm
from migrator.core.models import Job, JobStatus
from migrator.core.services.jobs import live_workers, request_cancel, start_job
from migrator.core.views.common import paginate, refusals_go_to


def job_list(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET)
    qs = Job.objects.visible_to(request.user).select_related("created_by")
    if form.is_valid():
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["kind"]:
            qs = qs.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data["mine"]:
            qs = qs.filter(created_by=request.user)
    page = paginate(request, qs, 30)
    unfinished = any(not j.is_finished for j in page.object_list)
    context = {"form": form, "page": page, "unfinished": unfinished}
    if request.htmx and not request.htmx.boosted:
        rows = render_to_string("core/job_list.html#job-rows", context, request)
        # Nothing left to watch: htmx's stop-polling answer (286) ends the list's polling.
        return HttpResponse(rows) if unfinished else HttpResponseStopPolling(rows)
    return render(request, "core/job_list.html", context)


def _get_job(request: HttpRequest, pk: int) -> Job:
    return get_object_or_404(Job.objects.visible_to(request.user).select_related("created_by"), pk=pk)


def _live_context(request: HttpRequest, job: Job) -> dict:
    """What the page and its polled fragment show. Read-only: reaping never happens in a request."""
    waiting = job.status == JobStatus.QUEUED and not settings.CELERY_TASK_ALWAYS_EAGER
    listeners = live_workers(job.queue) if waiting else []
    may_cancel = job.created_by_id == request.user.pk or request.user.has_perm("core.change_job")
    return {
        "job": job,
        "waiting_for_worker": waiting,
        # Nobody consumes the job's queue: say so, and what to do, instead of waiting silently.
        "no_worker": waiting and not listeners,
        "other_workers": live_workers() if waiting and not listeners else [],
        "pickup_seconds": settings.JOB_PICKUP_SECONDS,
        "may_cancel": may_cancel and job.can_cancel,
    }


def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "core/job_detail.html", _live_context(request, _get_job(request, pk)))


def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled fragment. Once the job has ended it answers htmx's stop-polling status (286)."""
    context = _live_context(request, _get_job(request, pk))
    job = context["job"]
    html = render_to_string("core/job_detail.html#job-live", context, request)
    if job.is_finished:
        # Stop polling, and tell the page's other fragments to refresh.
        return trigger_client_event(HttpResponseStopPolling(html), "job-finished")
    return HttpResponse(html)


@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _get_job(request, pk)
    refusals_go_to(request, job)
    job = request_cancel(job_id=job.pk, actor=request.user)
    messages.info(request, f"Job #{job.pk} was cancelled." if job.is_finished
                  else f"Job #{job.pk} will stop at its next step.")
    return redirect(job)


@require_POST
def worker_selftest(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_job"):
        raise PermissionDenied("You may not start jobs.")
    job = start_job(kind="core.selftest", actor=request.user, params={"steps": 5, "delay": 0.0 if settings.TESTING else 0.4})
    return redirect(job)
