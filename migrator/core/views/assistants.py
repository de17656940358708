from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from migrator.core import model_catalog
from migrator.core.forms import SORTS, AssistantFilterForm, TransitionForm
from migrator.core.models import Assistant, AuditEvent, Job
from migrator.core.models.assistant import priority_rank
from migrator.core.navigation import assistant_tabs
from migrator.core.search import assistant_filter
from migrator.core.services.status import assistant_actions, change_assistant_status, flow_progress
from migrator.core.views.common import paginate, refusals_go_to

# A loose index scan: one probe of the model index per distinct model, instead of reading every assistant
# (SELECT DISTINCT has to, on PostgreSQL and SQLite alike). Works on both.
_DISTINCT_MODELS = """
WITH RECURSIVE used(model) AS (
    SELECT MIN(model) FROM core_assistant
    UNION ALL
    SELECT (SELECT MIN(a.model) FROM core_assistant a WHERE a.model > used.model) FROM used WHERE used.model IS NOT NULL
)
SELECT model FROM used WHERE model IS NOT NULL
"""


def models_in_use(user) -> list[str]:
    """The distinct models of the assistants ``user`` may see, sorted."""
    if not Assistant.objects.visible_to(user).query.is_empty():
        with connection.cursor() as cursor:
            cursor.execute(_DISTINCT_MODELS)
            return [row[0] for row in cursor.fetchall()]
    return []


def _models_in_state(state: str, used: list[str]) -> list[str]:
    wanted = {"retired"} if state == "retired" else {"retiring"} if state == "retiring" else {"retired", "retiring"}
    return [m for m, info in model_catalog.resolve_many(used).items() if info.state() in wanted]


def filtered_assistants(user, data: dict, used: list[str] | None = None) -> tuple[AssistantFilterForm, object]:
    form = AssistantFilterForm(data)
    qs = Assistant.objects.visible_to(user).annotate(priority_rank=priority_rank())
    sort = "-traffic"
    if form.is_valid():
        cd = form.cleaned_data
        if cd["q"]:
            q = cd["q"].strip()
            qs = qs.filter(assistant_filter(q))
        if cd["status"]:
            qs = qs.filter(status=cd["status"])
        if cd["priority"]:
            qs = qs.filter(priority=cd["priority"])
        if cd["model"]:
            qs = qs.filter(model__iexact=cd["model"].strip())
        if cd["model_state"]:
            used = models_in_use(user) if used is None else used
            qs = qs.filter(model__in=_models_in_state(cd["model_state"], used))
        sort = cd["sort"] or sort
    order = SORTS.get(sort, SORTS["-traffic"])[0]
    return form, qs.order_by(order, "name", "pk")


def assistant_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_assistant"):
        raise PermissionDenied("You may not view assistants.")
    used = models_in_use(request.user)
    form, qs = filtered_assistants(request.user, request.GET, used)
    page = paginate(request, qs.select_related("owner"), ids_first=True)  # the one COUNT of this list
    infos = model_catalog.resolve_many(a.model for a in page.object_list)
    progress = flow_progress(a.pk for a in page.object_list)
    for assistant in page.object_list:
        assistant.model_info = infos[assistant.model]
        assistant.flow_words = progress[assistant.pk].words() if progress[assistant.pk].total else ""
    current_sort = request.GET.get("sort") or "-traffic"
    context = {
        "form": form,
        "page": page,
        "total": page.paginator.count,
        "sorts": [(key, label, key == current_sort) for key, (_, label) in SORTS.items()],
        "model_options": used,
    }
    template = "core/assistant_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


def _detail_context(request: HttpRequest, assistant: Assistant, form: TransitionForm | None = None) -> dict:
    info = model_catalog.resolve_many([assistant.model])[assistant.model]
    return {
        "assistant": assistant,
        "model_info": info,
        "actions": assistant_actions(assistant=assistant, user=request.user),
        "history": assistant.status_changes.select_related("actor")[:20],
        "flows": assistant.flows.all(),
        "flow_words": flow_progress([assistant.pk])[assistant.pk].words(),
        "jobs": Job.objects.visible_to(request.user).filter(subject_type="core.assistant", subject_id=str(assistant.pk))[:5],
        "events": AuditEvent.objects.for_object(assistant).select_related("actor")[:10],
        "tool_summary": [_tool_label(t) for t in assistant.tools if isinstance(t, dict)],
        "transition_form": form or TransitionForm(),
        "tabs": assistant_tabs(assistant.pk, "overview"),
    }


def _tool_label(tool: dict) -> str:
    kind = str(tool.get("type", "?"))
    if kind == "function":
        name = (tool.get("function") or {}).get("name") or tool.get("name") or "?"
        return f"function: {name}"
    return kind


def assistant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = get_object_or_404(Assistant.objects.visible_to(request.user).select_related("owner", "connection"), pk=pk)
    return render(request, "core/assistant_detail.html", _detail_context(request, assistant))


@require_POST
def assistant_transition(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = get_object_or_404(Assistant.objects.visible_to(request.user), pk=pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, assistant, form)
        if request.htmx:
            return render(request, "core/assistant_detail.html#status-panel", context, status=422)
        messages.error(request, "The status was not changed: see the form below.")
        return render(request, "core/assistant_detail.html", context, status=422)
    refusals_go_to(request, assistant)  # not a manual move, or no reason given: say so, change nothing
    assistant, changed = change_assistant_status(
        assistant_id=assistant.pk, to=form.cleaned_data["to"], actor=request.user, reason=form.cleaned_data["reason"]
    )
    if changed:
        messages.success(request, f"{assistant.display_name} is now {assistant.get_status_display()}.")
    else:
        messages.info(request, f"{assistant.display_name} was already {assistant.get_status_display()}.")
    return redirect(assistant)
