from __future__ import annotations

from datetime import date

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from migrator.core import model_catalog, tally
from migrator.core.models import Assistant, AuditEvent, Flow, Job
from migrator.core.navigation import page_url
from migrator.core.next_actions import panels_for, suggestions_for
from migrator.core.status import FlowStatus, MigrationStatus


def _model_rows(assistants) -> list[dict]:
    """Assistants by (status, model), with how many need review: every figure the dashboard shows about assistants
    comes from it. Read from the tally the database keeps (migrator.core.tally), not by grouping every assistant,
    so it costs the same at any size; a user who may see no assistant gets none."""
    if assistants.query.is_empty():
        return []
    rows: dict[tuple[str, str], dict] = {}
    for t in tally.totals(assistants.db):
        row = rows.setdefault((t.status, t.model), {"status": t.status, "model": t.model, "n": 0, "review": 0})
        row["n"] += t.assistants
        row["review"] += t.assistants if t.needs_review else 0
    return list(rows.values())


def upcoming_deadlines(assistants, today: date, rows: list[dict] | None = None) -> list[dict]:
    """Platform deadlines plus the shutdown dates of models that active assistants still use."""
    items: list[dict] = []
    for d in model_catalog.PLATFORM_DEADLINES:
        items.append({"when": d.when, "title": d.title, "detail": d.detail, "count": None})
    rows = _model_rows(assistants) if rows is None else rows
    per_model: dict[str, int] = {}
    for row in rows:
        if row["status"] not in (MigrationStatus.MIGRATED, MigrationStatus.RETIRED):
            per_model[row["model"]] = per_model.get(row["model"], 0) + row["n"]
    by_date: dict[date, list[tuple[str, int]]] = {}
    infos = model_catalog.resolve_many(per_model)
    for model, n in per_model.items():
        info = infos[model]
        if info.shutdown_date:
            by_date.setdefault(info.shutdown_date, []).append((model, n))
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
    rows = _model_rows(assistants)
    counts: dict[str, int] = {}
    active_models: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
        if row["status"] != MigrationStatus.RETIRED:
            active_models[row["model"]] = active_models.get(row["model"], 0) + row["n"]
    status_rows = [{"value": s.value, "label": s.label, "count": counts.get(s.value, 0)} for s in MigrationStatus]
    total = sum(counts.values())
    # Flows by status in one query: the assistants above stand where their flows do (the one status rule,
    # migrator.core.status.FlowProgress), so the two tables tell one story.
    by_flow_status = dict(Flow.objects.visible_to(user).order_by().values_list("status").annotate(n=Count("id")))
    flow_rows = [{"value": s.value, "label": s.label, "count": by_flow_status.get(s.value, 0)} for s in FlowStatus]
    flow_total, flow_migrated = sum(by_flow_status.values()), by_flow_status.get(FlowStatus.MIGRATED, 0)
    today = timezone.localdate()
    deadlines = upcoming_deadlines(assistants, today, rows)
    future = [d for d in deadlines if d["days_left"] >= 0]
    infos = model_catalog.resolve_many(active_models)
    on_retired = sum(n for model, n in active_models.items() if infos[model].is_retired(today))
    context = {
        "status_rows": status_rows,
        "flow_rows": flow_rows,
        "total": total,
        "flow_total": flow_total,
        "flow_migrated": flow_migrated,
        "flow_percent": int(100 * flow_migrated / flow_total) if flow_total else 0,
        "next_deadline": future[0] if future else None,
        "deadlines": future[:6],
        "past_deadlines": [d for d in deadlines if d["days_left"] < 0][-3:],
        "on_retired": on_retired,
        "needs_review": sum(row["review"] for row in rows),
        # Served by core_asst_traffic_idx: the top six without sorting every assistant.
        "top": assistants.order_by("-traffic_share", "name", "id")[:6],
        "jobs": Job.objects.visible_to(user).select_related("created_by")[:5],
        "events": AuditEvent.objects.visible_to(user).select_related("actor")[:8],
        "import_url": page_url("import") if user.has_perm("inventory.import_assistants") else None,
        "next_actions": suggestions_for(user),
        "panels": panels_for(user),
        "usage_url": page_url("usage"),
    }
    return render(request, "core/dashboard.html", context)
