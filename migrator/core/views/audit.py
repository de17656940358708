from __future__ import annotations

from datetime import datetime, time

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from migrator.core.forms import AuditFilterForm
from migrator.core.models import AuditEvent
from migrator.core.views.common import paginate


def audit_log(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_auditevent"):
        raise PermissionDenied("You may not read the audit log.")
    form = AuditFilterForm(request.GET)
    qs = AuditEvent.objects.visible_to(request.user).select_related("actor")
    status = 200
    if form.is_valid():
        cd = form.cleaned_data
        if cd["verb"]:
            qs = qs.filter(verb__startswith=cd["verb"].strip())
        if cd["actor"]:
            qs = qs.filter(actor_label__iexact=cd["actor"].strip())
        if cd["object_type"]:
            qs = qs.filter(object_type=cd["object_type"].strip().lower())
        tz = timezone.get_current_timezone()
        if cd["since"]:
            qs = qs.filter(created_at__gte=datetime.combine(cd["since"], time.min, tzinfo=tz))
        if cd["until"]:
            qs = qs.filter(created_at__lte=datetime.combine(cd["until"], time.max, tzinfo=tz))
    elif form.errors:
        status = 400
    page = paginate(request, qs, 50)
    template = "core/audit_log.html" + ("#audit-results" if request.htmx and not request.htmx.boosted else "")
    return render(request, template, {"form": form, "page": page}, status=status)
