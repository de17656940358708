"""Connection pages: list, add, edit, and "test" (a job)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from migrator.core.models import Connection, Job
from migrator.core.models.connection import API_NAMES
from migrator.core.outbound import OutboundRefused
from migrator.core.services.connections import KeyNotRebound, save_connection
from migrator.core.services.jobs import start_job
from migrator.inventory.forms import ConnectionForm


def _require(request: HttpRequest, perm: str, message: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(message)


def connection_list(request: HttpRequest) -> HttpResponse:
    _require(request, "core.view_connection", "You may not view connections.")
    connections = list(Connection.objects.order_by("name"))
    last_tests = {}
    for job in Job.objects.filter(kind="inventory.test_connection", subject_type="core.connection").order_by("-pk"):
        last_tests.setdefault(job.subject_id, job)
    for connection in connections:
        connection.api_rows = [(api, connection.answers_api(api)) for api in API_NAMES]
        connection.last_test_job = last_tests.get(str(connection.pk))
    return render(request, "inventory/connection_list.html", {
        "connections": connections,
        "can_add": request.user.has_perm("core.add_connection"),
        "can_change": request.user.has_perm("core.change_connection"),
        "can_import": request.user.has_perm("inventory.import_assistants"),
    })


def _save(request: HttpRequest, form: ConnectionForm, connection: Connection | None) -> Connection | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return save_connection(
            actor=request.user, name=data["name"], base_url=data["base_url"], api_key=data["api_key"] or None,
            organization=data["organization"], project=data["project"], connection=connection,
            is_sandbox=connection.is_sandbox if connection else False, confirm_host=data.get("confirm_host") or "",
        )
    except KeyNotRebound as exc:
        form.add_error("api_key", str(exc))
        return None
    except OutboundRefused as exc:
        form.add_error("base_url", str(exc))
        return None


def connection_add(request: HttpRequest) -> HttpResponse:
    _require(request, "core.add_connection", "You may not add connections.")
    form = ConnectionForm(request.POST or None)
    if request.method == "POST":
        saved = _save(request, form, None)
        if saved is not None:
            messages.success(request, f"Connection “{saved.name}” saved. Test it to see which APIs answer.")
            return redirect("inventory:connection_list")
    return render(request, "inventory/connection_form.html", {"form": form, "connection": None},
                  status=422 if form.errors else 200)


def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "core.change_connection", "You may not change connections.")
    connection = get_object_or_404(Connection, pk=pk)
    form = ConnectionForm(request.POST or None, instance=connection)
    if request.method == "POST":
        saved = _save(request, form, connection)
        if saved is not None:
            messages.success(request, f"Connection “{saved.name}” saved.")
            return redirect("inventory:connection_list")
    return render(request, "inventory/connection_form.html", {"form": form, "connection": connection},
                  status=422 if form.errors else 200)


@require_POST
def connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "core.change_connection", "You may not test connections.")
    connection = get_object_or_404(Connection, pk=pk)
    job = start_job(kind="inventory.test_connection", actor=request.user, params={"connection_id": connection.pk},
                    subject=connection, subject_label=f"Connection {connection.name}")
    messages.info(request, f"Testing {connection.name}: models, assistants, responses, conversations.")
    if request.htmx:
        return HttpResponseClientRedirect(job.get_absolute_url())
    return redirect(reverse("core:job_detail", args=[job.pk]))
