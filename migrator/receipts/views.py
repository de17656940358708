"""Download a flow's migration receipt (the signed bundle ``manage.py receipt export`` writes)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from migrator.core.models import Flow
from migrator.receipts import services


@login_required
def download(request: HttpRequest, slug: str) -> HttpResponse:
    flow = get_object_or_404(Flow.objects.visible_to(request.user), slug=slug)
    bundle = services.export(flow_id=flow.pk, actor=request.user)
    response = HttpResponse(bundle, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{services.filename(flow)}"'
    response["Cache-Control"] = "no-store"
    return response
