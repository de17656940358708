"""The import page: upload an export archive, or import live from a connection with a thread list."""

from __future__ import annotations

import json
import re
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from migrator.core.models import Connection, Job
from migrator.core.services.jobs import start_job
from migrator.inventory.forms import ArchiveImportForm, LiveImportForm
from migrator.inventory.jobs import upload_dir
from migrator.inventory.models import LegacyMessage, LegacyThread

INLINE_THREADS = 2000  # longer thread lists go to a file instead of the job's params
IMPORT_KINDS = ("inventory.import_archive", "inventory.import_connection")


def _safe_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[:120]
    return base or "archive"


def _start_archive_import(request: HttpRequest, form: ArchiveImportForm) -> Job:
    upload = form.cleaned_data["archive"]
    target = upload_dir() / f"{uuid.uuid4().hex}-{_safe_name(upload.name)}"
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return start_job(kind="inventory.import_archive", actor=request.user,
                     params={"path": str(target), "filename": upload.name[:200], "delete_after": True},
                     subject_label=f"Archive {upload.name}"[:300])


def _start_live_import(request: HttpRequest, form: LiveImportForm) -> Job:
    connection: Connection = form.cleaned_data["connection"]
    threads = [ref.as_dict() for ref in form.cleaned_data.get("threads", [])]
    params: dict = {"connection_id": connection.pk, "thread_count": len(threads)}
    if len(threads) > INLINE_THREADS:
        target = upload_dir() / f"{uuid.uuid4().hex}-threads.json"
        target.write_text(json.dumps(threads))
        params["threads_file"] = str(target)
    else:
        params["threads"] = threads
    return start_job(kind="inventory.import_connection", actor=request.user, params=params, subject=connection,
                     subject_label=f"Live import from {connection.name}")


def import_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_assistant"):
        raise PermissionDenied("You may not view the inventory.")
    can_import = request.user.has_perm("inventory.import_assistants")
    archive_form = ArchiveImportForm()
    live_form = LiveImportForm(initial={"connection": request.GET.get("connection")})
    status = 200
    if request.method == "POST":
        if not can_import:
            raise PermissionDenied("You may not import assistants (Engineers can).")
        if request.POST.get("source") == "archive":
            archive_form = ArchiveImportForm(request.POST, request.FILES)
            if archive_form.is_valid():
                job = _start_archive_import(request, archive_form)
                messages.info(request, "The archive was uploaded; the import runs in the background.")
                return redirect(job)
        else:
            live_form = LiveImportForm(request.POST, request.FILES)
            if live_form.is_valid():
                job = _start_live_import(request, live_form)
                messages.info(request, f"Importing from {live_form.cleaned_data['connection'].name}.")
                return redirect(job)
        status = 422
    recent = (Job.objects.visible_to(request.user).filter(kind__in=IMPORT_KINDS).select_related("created_by")
              .order_by("-created_at")[:10])
    context = {
        "archive_form": archive_form,
        "live_form": live_form,
        "can_import": can_import,
        "recent": recent,
        "gone": Connection.objects.filter(answers__assistants=False).order_by("name"),
        "has_connections": Connection.objects.exists(),
        "totals": {"threads": LegacyThread.objects.count(), "messages": LegacyMessage.objects.count()},
    }
    return render(request, "inventory/import.html", context, status=status)
