"""The export page: write an archive of what a connection still returns, then download it from the job page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from migrator.core.models import Job, JobStatus
from migrator.core.views.common import refusals_go_to
from migrator.inventory.forms import ExportForm
from migrator.inventory.services import exports


@require_http_methods(["GET", "POST"])
def export_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_assistant"):
        raise PermissionDenied("You may not view the inventory.")
    can_export = request.user.has_perm("inventory.import_assistants")
    form = ExportForm(request.POST or None, request.FILES or None, user=request.user,
                      initial={"connection": request.GET.get("connection")})
    if request.method == "POST":
        if not can_export:
            raise PermissionDenied("You may not export assistants (Engineers can).")
        if form.is_valid():
            refusals_go_to(request, request.path)
            job = exports.start_export(actor=request.user, connection_id=form.cleaned_data["connection"].pk,
                                       thread_ids=form.cleaned_data.get("threads") or [])
            messages.info(request, f"Exporting from {form.cleaned_data['connection'].name}; the job page offers "
                                   "the archive when it is written.")
            return redirect(job)
    recent = (Job.objects.visible_to(request.user).filter(kind=exports.EXPORT_KIND).select_related("created_by")
              .order_by("-created_at")[:10])
    context = {"form": form, "can_export": can_export, "recent": recent,
               "has_connections": form.fields["connection"].queryset.exists()}
    return render(request, "inventory/export.html", context, status=422 if form.errors else 200)


@require_GET
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    """The archive an export job wrote, to the people who may see that job."""
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk, kind=exports.EXPORT_KIND)
    path = exports.archive_path(job.pk)
    if job.status != JobStatus.SUCCEEDED or not path.exists():
        raise Http404("This export has no archive (it has not finished, it failed, or its file was removed).")
    return FileResponse(path.open("rb"), as_attachment=True, filename=exports.download_name(job),
                        content_type="application/gzip")
