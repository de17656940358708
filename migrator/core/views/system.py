from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from migrator.celery import broker_choice, redis_answers
from migrator.core.jobs.queues import installation_id, job_queue, queue_source
from migrator.core.models import Connection, Job, JobStatus, WorkerHeartbeat
from migrator.core.roles import has_role
from migrator.core.services.jobs import live_workers


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "detail": f"{connection.vendor} · {connection.settings_dict['NAME']}"}
    except Exception as exc:  # the page must render even when the database is unhappy
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}


def _check_broker() -> dict:
    choice = broker_choice()
    if choice.kind == "redis":
        ok = redis_answers(settings.REDIS_URL)
        where = settings.REDIS_URL.rsplit("@", 1)[-1]  # never show a password in the URL
        return {"ok": ok, "kind": "Redis", "detail": f"{where} — {choice.reason}" if ok else f"{where} does not answer"}
    folder = settings.DATA_DIR / "broker"
    return {"ok": folder.exists(), "kind": "Embedded (filesystem)", "detail": f"{folder} — {choice.reason}"}


def _check_sandbox() -> dict:
    from migrator.core.openai_client import client_for, describe_error

    conn = Connection.objects.filter(is_sandbox=True).first()
    if conn is None:
        return {"ok": None, "detail": "No Sandbox connection is configured (make run creates one)."}
    try:
        models = client_for(conn, max_retries=0, timeout=3).models.list()
        return {"ok": True, "detail": f"{conn.base_url} — {len(models.data)} models"}
    except Exception as exc:
        return {"ok": False, "detail": describe_error(exc, where=conn.base_url)}


def _check_queue(workers: list[WorkerHeartbeat]) -> dict:
    queue = job_queue()
    return {
        "name": queue,
        "source": queue_source(),
        "installation": installation_id(),
        "listeners": [w for w in workers if queue in w.queue_names],
        "pickup_seconds": settings.JOB_PICKUP_SECONDS,
        "stale_seconds": settings.JOB_STALE_SECONDS,
        "soft_limit": settings.JOB_SOFT_TIME_LIMIT_SECONDS,
        "hard_limit": settings.JOB_TIME_LIMIT_SECONDS,
    }


def system_status(request: HttpRequest) -> HttpResponse:
    """Read-only: it reports; the worker loop and ``manage.py reap_jobs`` do the reaping."""
    if not has_role(request.user):
        raise PermissionDenied("The System page is for people with a role.")
    workers = live_workers()
    queue = _check_queue(workers)
    context = {
        "queue": queue,
        "database": _check_database(),
        "broker": _check_broker(),
        "workers": workers,
        "stale_workers": WorkerHeartbeat.objects.exclude(pk__in=[w.pk for w in workers])[:10],
        "sandbox": _check_sandbox(),
        "queued": Job.objects.filter(status=JobStatus.QUEUED).count(),
        "running": Job.objects.filter(status=JobStatus.RUNNING).count(),
        "waiting_long": Job.objects.filter(
            status=JobStatus.QUEUED, enqueued_at__lt=timezone.now() - timedelta(seconds=settings.JOB_PICKUP_SECONDS)
        ).count(),
        "now": timezone.now(),
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    }
    return render(request, "core/system_status.html", context)
