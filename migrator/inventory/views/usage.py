"""What matters: inventory-wide traffic, the model radar, and one assistant's usage & drift tab."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, F, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from migrator.core import tally
from migrator.core.models import Assistant
from migrator.core.navigation import assistant_tabs
from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, paginate
from migrator.inventory.diffs import revision_diffs
from migrator.inventory.forms import BusinessForm
from migrator.inventory.models import LegacyFile, LegacyThread, ReportedModel, VectorStore
from migrator.inventory.models_radar import model_state, model_states, radar
from migrator.inventory.services.business import STANDARD_TAGS, set_business_context

CHART_BARS = 25
CHART_W, CHART_H, PAD = 720, 240, 32


def _require_read(request: HttpRequest) -> None:
    if not request.user.has_perm("core.view_assistant"):
        raise PermissionDenied("You may not view the inventory.")


def _chart(points: list[dict]) -> dict:
    """Coordinates for the inline-SVG Pareto chart: bars (share) and the cumulative line, no JavaScript."""
    shown = points[:CHART_BARS]
    if not shown:
        return {}
    top = max(p["share"] for p in shown) or 1
    width = (CHART_W - 2 * PAD) / len(shown)
    plot_h = CHART_H - 2 * PAD
    bars, line = [], []
    for i, p in enumerate(shown):
        h = plot_h * p["share"] / top
        x = PAD + i * width
        bars.append({"x": round(x + width * 0.1, 1), "y": round(CHART_H - PAD - h, 1), "w": round(width * 0.8, 1),
                     "h": round(h, 1), "label": p["label"], "share": p["share"], "cumulative": p["cumulative"]})
        line.append(f"{round(x + width / 2, 1)},{round(CHART_H - PAD - plot_h * p['cumulative'], 1)}")
    return {"w": CHART_W, "h": CHART_H, "pad": PAD, "bars": bars, "line": " ".join(line),
            "y80": round(CHART_H - PAD - plot_h * 0.8, 1), "baseline": CHART_H - PAD, "right": CHART_W - PAD,
            "top": PAD, "top_share": top, "more": max(0, len(points) - len(shown))}


USAGE_FIELDS = ("pk", "name", "legacy_id", "model", "message_count", "thread_count", "run_count", "traffic_share",
                "priority", "suggested_priority", "priority_overridden", "status", "single_turn_share",
                "avg_turns_per_thread", "last_activity_at")
USAGE_ORDER = (F("message_count").desc(), F("name").asc(), F("pk").asc())
PER_PAGE = 50


def message_histogram(visible) -> list[tuple[int, int]]:
    """(message count, how many assistants have it), busiest first: one GroupAggregate over an index-only scan of
    core_asst_messages_idx, a few hundred rows however many assistants there are."""
    return list(visible.order_by("-message_count").values_list("message_count").annotate(n=Count("pk")))


def needed_for_80(histogram: list[tuple[int, int]], total: int) -> int:
    """How many of the busiest assistants carry 80 % of ``total`` messages. Within a run of equal counts the answer
    is arithmetic, so it is the same as counting assistants one by one in the list's order."""
    threshold = (8 * total + 9) // 10  # ceil(0.8 × total) in integers: an assistant counts if less came before
    carried = needed = 0
    for per_assistant, n in histogram:
        if carried >= threshold or not per_assistant:
            break
        needed += min(n, -(-(threshold - carried) // per_assistant))
        carried += per_assistant * n
    return needed


def carried_before(visible, histogram: list[tuple[int, int]], first: tuple[int, int, str]) -> int:
    """Messages of the assistants listed before ``first`` (pk, message count, name) in USAGE_ORDER: the busier ones
    from the histogram, plus those with the same count sorted before it (an index range count). A deep page
    costs what the first does, instead of a running sum over every row before it."""
    pk, messages, name = first
    busier = sum(m * n for m, n in histogram if m > messages)
    # Counted even when the count is 0 (times 0 messages): the page's query count stays the same on every page.
    same = visible.filter(Q(name__lt=name) | Q(name=name, pk__lt=pk), message_count=messages).order_by().count()
    return busier + messages * same


def usage(request: HttpRequest) -> HttpResponse:
    _require_read(request)
    visible = Assistant.objects.visible_to(request.user)
    # Totals from the tally the database keeps (migrator.core.tally): no scan of the assistants.
    rows = [] if visible.query.is_empty() else tally.totals(visible.db)
    count, total = sum(r.assistants for r in rows), sum(r.messages for r in rows)
    idle = sum(r.idle for r in rows)
    histogram = message_histogram(visible)
    needed = needed_for_80(histogram, total) if total else 0
    # The page's keys first, from core_asst_messages_idx alone (an index-only scan), then its 50 wide rows by
    # primary key; each row's cumulative share is what came before the page plus a running sum over the page.
    page = paginate(request, visible.order_by(*USAGE_ORDER).values_list("pk", "message_count", "name"), PER_PAGE,
                    count=count)
    keys = list(page.object_list)
    by_pk = visible.only(*USAGE_FIELDS).in_bulk([k[0] for k in keys])
    assistants = [by_pk[k[0]] for k in keys if k[0] in by_pk]
    carried = carried_before(visible, histogram, keys[0]) if keys else 0
    for assistant in assistants:
        carried += assistant.message_count
        assistant.carried = carried
    # The chart's top 25: an index range on core_asst_messages_idx; their cumulative is a running sum.
    top = visible.order_by(*USAGE_ORDER).only("pk", "name", "legacy_id", "message_count")[:CHART_BARS]
    states = model_states({a.model for a in assistants})
    for assistant in assistants:
        assistant.model_info = states.get(assistant.model)
        assistant.cumulative = assistant.carried / total if total else 0
    points, carried = [], 0
    for a in top:
        carried += a.message_count
        points.append({"label": a.display_name, "share": a.message_count / total if total else 0.0,
                       "cumulative": carried / total if total else 0.0})
    chart = _chart(points)
    if chart:
        chart["more"] = max(0, count - len(chart["bars"]))
    orphans = LegacyThread.objects.filter(assistant__isnull=True).aggregate(n=Count("pk"), m=Sum("message_count"))
    summary = {"total": total, "needed_for_80": needed, "count": count}
    context = {
        "assistants": assistants,
        "page": page,
        "count": count,
        "summary": summary,
        "chart": chart,
        "share_of_assistants_for_80": needed / count if count else 0,
        "idle": idle,
        "threads": LegacyThread.objects.count(),
        "orphans": orphans,
    }
    return render(request, "inventory/usage.html", context)


def model_radar(request: HttpRequest) -> HttpResponse:
    _require_read(request)
    rows = radar(Assistant.objects.visible_to(request.user))
    reported = (ReportedModel.objects.values("connection__name").annotate(n=Count("pk"), seen=Max("seen_at"),
                                                                           dated=Count("pk", filter=Q(shutdown_date__isnull=False)))
                .order_by("connection__name"))
    counts = {state: sum(1 for r in rows if r.state == state) for state in ("retired", "retiring", "current", "unknown")}
    at_risk = sum(r.assistant_count for r in rows if r.state in ("retired", "retiring"))
    return render(request, "inventory/model_radar.html", {"rows": rows, "reported": reported, "counts": counts,
                                                          "at_risk": at_risk})


def _flows(assistant: Assistant) -> list[dict]:
    return list(
        LegacyThread.objects.filter(assistant=assistant).order_by().values("flow_slug")
        .annotate(threads=Count("pk"), messages=Sum("message_count"), turns=Avg("user_turns"),
                  single=Count("pk", filter=Q(user_turns__lte=1)), last=Max("last_message_at"))
        .order_by("-messages", "flow_slug")
    )


def _resources(assistant: Assistant) -> tuple[list, list, list[str]]:
    resources = assistant.tool_resources or {}
    store_ids = ((resources.get("file_search") or {}).get("vector_store_ids") or []) if isinstance(resources, dict) else []
    file_ids = ((resources.get("code_interpreter") or {}).get("file_ids") or []) if isinstance(resources, dict) else []
    stores = {s.legacy_id: s for s in VectorStore.objects.filter(legacy_id__in=store_ids)}
    files = {f.legacy_id: f for f in LegacyFile.objects.filter(legacy_id__in=file_ids)}
    unknown = [i for i in [*store_ids, *file_ids] if i not in stores and i not in files]
    return [stores[i] for i in store_ids if i in stores], [files[i] for i in file_ids if i in files], unknown


def assistant_usage(request: HttpRequest, pk: int) -> HttpResponse:
    _require_read(request)
    assistant = get_object_or_404(Assistant.objects.visible_to(request.user).select_related("owner"), pk=pk)
    can_edit = request.user.has_perm("core.set_priority")
    standard = {value for value, _ in STANDARD_TAGS}
    initial = {
        "priority": assistant.priority if assistant.priority_overridden else "",
        "tags": [t for t in assistant.tags if t in standard],
        "other_tags": ", ".join(t for t in assistant.tags if t not in standard),
        "owner": assistant.owner_id,
    }
    form = BusinessForm(initial=initial, suggested=assistant.suggested_priority)
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("You may not set an assistant's priority, tags or owner.")
        form = BusinessForm(request.POST, suggested=assistant.suggested_priority)
        if form.is_valid():
            owner = form.cleaned_data["owner"]
            try:
                _, changed = set_business_context(
                    assistant_id=assistant.pk, actor=request.user, priority=form.cleaned_data["priority"],
                    tags=form.all_tags(), owner_id=owner.pk if owner else None,
                )
            except ServiceError as exc:
                form.add_error(None, message_for(exc))
            else:
                messages.success(request, "Business context saved." if changed else "Nothing changed.")
                return redirect("inventory:assistant_usage", pk=assistant.pk)
        status = 422
    stores, files, unknown_resources = _resources(assistant)
    tool_calls = sorted((assistant.tool_call_counts or {}).items(), key=lambda kv: -kv[1])
    top_calls = tool_calls[0][1] if tool_calls else 0
    revisions = list(assistant.revisions.select_related("actor")[:20])
    context = {
        "assistant": assistant,
        "tabs": assistant_tabs(assistant.pk, "usage"),
        "model_info": model_state(assistant.model),
        "tool_calls": [(tool, n, round(100 * n / top_calls) if top_calls else 0) for tool, n in tool_calls],
        "flows": _flows(assistant),
        "recent_threads": LegacyThread.objects.filter(assistant=assistant).order_by("-last_message_at", "-pk")[:10],
        "revisions": [(r, revision_diffs(r)) for r in revisions],
        "stores": stores,
        "files": files,
        "unknown_resources": unknown_resources,
        "form": form,
        "can_edit": can_edit,
    }
    return render(request, "inventory/assistant_usage.html", context, status=status)
