"""The floor for bench/api.py: a minimal Django view that reads one row and returns the same JSON body.

Served through the same settings and middleware as the config API (this module is the URLconf while the
in-process comparison runs, with the project's URLs included), so the ratio measures our own code only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import include, path

BODY: dict = {}  # the config API's 200 body, set by bench/api.py


@login_not_required
def minimal(request, slug: str):
    from migrator.core.models import Flow

    row = Flow.objects.filter(slug=slug).values_list("id", flat=True).first()
    return JsonResponse({**BODY, "id": row})


urlpatterns = [
    path("bench/minimal/<slug:slug>/", minimal),
    path("", include("migrator.urls")),
]
