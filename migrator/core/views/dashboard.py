from __future__ import annotations

from datetime import date

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from migrator.core import model_catalog
from migrator.core.models import Assistant, AuditEvent, Flow, Job
from migrator.core.navigation import _try_reverse
from migrator.core.next_actions import suggestions_for
from migrator.core.status import FlowStatus, MigrationStatus


def upcoming_deadlines(assistants, today: date) -> list[dict]:
    """Platform deadlines plus the shutdown dates of models that active assistants still use."""
    items: list[dict] = []
    for d in model_catalog.PLATFORM_DEADLINES:
        items.append({"when": d.when, "title": d.title, "detail": d.detail, "count": None})
    per_model = assistants.exclude(status__in=[MigrationStatus.MIGRATED, MigrationStatus.RETIRED]).values("model").annotate(n=Count("id"))
    by_date: dict[date, list[tuple[str, int]]] = {}
    per_model = list(per_model)
    infos = model_catalog.resolve_many(row["model"] for row in per_model)
    for row in per_model:
        info = infos[row["model"]]
        if info.shutdown_date:
            by_date.setdefault(info.shutdown_date, []).append((row["model"], row["n"]))
    for when, models in by_date.items():
        count = sum(n for _, n in models)
        names = ", ".join(sorted(m for m, _ in models))
        items.append({"when": when, "title": f"Model shutdown: {names}", "detail": f"{count} assistant(s) still on it", "count": count})
    for item in items:
        item["days_left"] = (item["when"] - today).days
    items.sort(key=lambda i: i["when"])
    return items


def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    assistants = Assistant.objects.visible_to(user)
    counts = dict(assistants.values_list("status").annotate(n=Count("id")))
    status_rows = [{"value": s.value, "label": s.label, "count": counts.get(s.value, 0)} for s in MigrationStatus]
    total = sum(counts.values())
    flows = Flow.objects.visible_to(user)
    flow_total = flows.count()
    flow_migrated = flows.filter(status=FlowStatus.MIGRATED).count()
    today = timezone.localdate()
    deadlines = upcoming_deadlines(assistants, today)
    future = [d for d in deadlines if d["days_left"] >= 0]
    active_models = dict(
        assistants.exclude(status=MigrationStatus.RETIRED).values_list("model").annotate(n=Count("id"))
    )
    infos = model_catalog.resolve_many(active_models)
    on_retired = sum(n for model, n in active_models.items() if infos[model].is_retired(today))
    context = {
        "status_rows": status_rows,
        "total": total,
        "flow_total": flow_total,
        "flow_migrated": flow_migrated,
        "flow_percent": int(100 * flow_migrated / flow_total) if flow_total else 0,
        "next_deadline": future[0] if future else None,
        "deadlines": future[:6],
        "past_deadlines": [d for d in deadlines if d["days_left"] < 0][-3:],
        "on_retired": on_retired,
        "needs_review": assistants.filter(needs_review=True).count(),
        "top": assistants.order_by("-traffic_share", "-message_count")[:6],
        "jobs": Job.objects.visible_to(user).select_related("created_by")[:5],
        "events": AuditEvent.objects.visible_to(user).select_related("actor")[:8],
        "import_url": _try_reverse("inventory:import") if user.has_perm("inventory.import_assistants") else None,
        "next_actions": suggestions_for(user),
        "usage_url": _try_reverse("inventory:usage"),
    }
    return render(request, "core/dashboard.html", context)
