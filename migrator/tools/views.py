"""The Tools tab of an assistant: old and new shapes, findings, resources, per-tool tests and the gate."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from migrator.core import safeinput
from migrator.core.models import Assistant, Connection, Job
from migrator.core.models.job import JOB_FINISHED
from migrator.core.navigation import assistant_tabs
from migrator.core.views.common import refusals_go_to
from migrator.tools import services as tool_services
from migrator.tools import toolset
from migrator.tools.codegen import loop_code
from migrator.tools.forms import AttachVectorStoreForm, ConnectionChoiceForm, ToolTestForm
from migrator.tools.models import ResourceKind, ToolTestResult


def chosen_connection(raw: str | None) -> Connection | None:
    """The connection picked on the page, else the Sandbox connection if it exists (pages never create it;
    starting a test does)."""
    pk = safeinput.parse_int(raw, low=1)  # "²".isdigit() is True but int("²") fails; 25 digits overflow
    if pk is not None:
        found = Connection.objects.filter(pk=pk).first()
        if found:
            return found
    return Connection.objects.filter(is_sandbox=True).order_by("pk").first()


def _assistant(request: HttpRequest, pk: int) -> Assistant:
    return get_object_or_404(Assistant.objects.visible_to(request.user), pk=pk)


def _running_jobs(assistant: Assistant) -> dict[str, Job]:
    jobs = Job.objects.filter(
        kind="tools.test_tool", subject_type="core.assistant", subject_id=str(assistant.pk)
    ).exclude(status__in=JOB_FINISHED).order_by("-created_at")
    running: dict[str, Job] = {}
    for job in jobs:
        running.setdefault(str(job.params.get("tool_key")), job)
    return running


def _cards(assistant: Assistant, connection: Connection | None, only: str | None = None) -> tuple[list[dict], object]:
    version = toolset.latest_version(assistant)
    rows = toolset.tool_rows(assistant, version)
    gate = tool_services.tool_gate(assistant, version, rows=rows)
    states = tool_services.resource_states(assistant, connection)
    running = _running_jobs(assistant)
    history: dict[str, list[ToolTestResult]] = {}
    for result in ToolTestResult.objects.filter(assistant=assistant).select_related("tested_by", "job")[:200]:
        history.setdefault(result.tool_key, [])
        if len(history[result.tool_key]) < 5:
            history[result.tool_key].append(result)
    cards = []
    for gate_row in gate.rows:
        row = gate_row.row
        if only and row.key != only:
            continue
        cards.append({
            "row": row,
            "gate": gate_row,
            "state": "running" if row.key in running else gate_row.state,
            "job": running.get(row.key),
            "resources": [
                {"kind": kind, "label": ResourceKind(kind).label if kind in ResourceKind.values else kind, "id": rid,
                 "check": states.get((kind, rid))}
                for kind, rid in row.resources
            ],
            "history": history.get(row.key, []),
            # A file_search tool with no store, or one the last check found gone, is fixed from its card.
            "needs_store": row.type == "file_search" and (not row.resources or any(
                (c := states.get(r)) is not None and c.state in ("missing", "expired") for r in row.resources)),
        })
    return cards, gate


def _store_context(request: HttpRequest, assistant: Assistant, version) -> dict:
    """What a file_search card's "attach a vector store" form needs (the page and the polled card alike)."""
    from migrator.inventory.models import VectorStore

    may_attach = version is not None and request.user.has_perm("core.draft_prompt")
    stores = list(VectorStore.objects.exclude(status__in=("expired", "missing")).order_by("name", "legacy_id")
                  .values("legacy_id", "name", "file_counts")[:200]) if may_attach else []
    return {"can_attach": may_attach, "vector_stores": stores}


def _context(request: HttpRequest, assistant: Assistant) -> dict:
    connection = chosen_connection(request.GET.get("connection"))
    cards, gate = _cards(assistant, connection)
    flows = list(assistant.flows.order_by("name"))
    flow = next((f for f in flows if f.slug == request.GET.get("flow")), None)
    flow = flow or next((f for f in flows if f.mode), None) or (flows[0] if flows else None)
    code, code_mode = loop_code(assistant, flow)
    return {
        "assistant": assistant,
        "version": gate.version,
        "cards": cards,
        "gate": gate,
        "connection": connection,
        "connections": Connection.objects.order_by("name"),
        "connection_form": ConnectionChoiceForm(initial={"connection": connection.pk if connection else None}),
        "can_test": request.user.has_perm(tool_services.TEST_PERMISSION),
        "flows": flows,
        "code_flow": flow,
        "code": code,
        "code_mode": code_mode,
        "any_running": any(c["job"] for c in cards),
        "tabs": assistant_tabs(assistant.pk, "tools"),
        **_store_context(request, assistant, gate.version),
    }


def assistant_tools(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = _assistant(request, pk)
    return render(request, "tools/assistant_tools.html", _context(request, assistant))


def tool_card(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """One tool's card (polled while its test runs; answers htmx's stop-polling status once it has ended)."""
    assistant = _assistant(request, pk)
    connection = chosen_connection(request.GET.get("connection"))
    cards, _gate = _cards(assistant, connection, only=key)
    if not cards:
        return HttpResponse(f"There is no tool {key} any more.", status=404)
    context = {"assistant": assistant, "card": cards[0], "connection": connection,
               "can_test": request.user.has_perm(tool_services.TEST_PERMISSION),
               **_store_context(request, assistant, toolset.latest_version(assistant))}
    html = render_to_string("tools/assistant_tools.html#tool-card", context, request)
    if cards[0]["job"] is None:
        # Stop polling, and tell the gate panel to refresh.
        return trigger_client_event(HttpResponseStopPolling(html), "tool-test-finished")
    return HttpResponse(html)


def tool_gate_panel(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = _assistant(request, pk)
    _cards_list, gate = _cards(assistant, None)
    return render(request, "tools/assistant_tools.html#gate", {"assistant": assistant, "gate": gate})


def _back(assistant: Assistant, connection: Connection | None) -> str:
    url = reverse("tools:assistant_tools", args=[assistant.pk])
    return f"{url}?connection={connection.pk}" if connection else url


@require_POST
def test_tool(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = _assistant(request, pk)
    form = ToolTestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a tool and a connection that exist: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("tools:assistant_tools", pk=assistant.pk)
    connection = form.cleaned_data["connection"]
    refusals_go_to(request, "tools:assistant_tools", assistant.pk)
    job = tool_services.start_tool_test(
        assistant_id=assistant.pk, tool_key=form.cleaned_data["tool_key"], actor=request.user,
        connection_id=connection.pk if connection else None,
        recorded_call_id=(request.POST.get("recorded_call") or "").strip()[:100],
    )
    connection = Connection.objects.filter(pk=job.params["connection_id"]).first()
    if request.htmx:
        cards, _gate = _cards(assistant, connection, only=job.params["tool_key"])
        context = {"assistant": assistant, "card": cards[0], "connection": connection, "can_test": True,
                   **_store_context(request, assistant, toolset.latest_version(assistant))}
        return render(request, "tools/assistant_tools.html#tool-card", context)
    messages.success(request, format_html('Testing {} on {}: <a href="{}">job #{}</a>.', job.subject_label,
                                          connection.name if connection else "the Sandbox",
                                          job.get_absolute_url(), job.pk))
    return redirect(_back(assistant, connection))


@require_POST
def test_all_tools(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = _assistant(request, pk)
    form = ConnectionChoiceForm(request.POST)
    connection = form.cleaned_data["connection"] if form.is_valid() else None
    refusals_go_to(request, "tools:assistant_tools", assistant.pk)
    jobs = tool_services.start_all_tool_tests(
        assistant_id=assistant.pk, actor=request.user, connection_id=connection.pk if connection else None
    )
    connection = Connection.objects.filter(pk=jobs[0].params["connection_id"]).first()
    messages.success(request, f"Started {len(jobs)} tool test(s) on {connection.name if connection else 'the Sandbox'}; "
                              "each card updates when its test ends.")
    return redirect(_back(assistant, connection))


@require_POST
def check_resources(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = _assistant(request, pk)
    form = ConnectionChoiceForm(request.POST)
    connection = form.cleaned_data["connection"] if form.is_valid() else None
    refusals_go_to(request, "tools:assistant_tools", assistant.pk)
    job = tool_services.start_resource_check(
        assistant_id=assistant.pk, actor=request.user, connection_id=connection.pk if connection else None
    )
    connection = Connection.objects.filter(pk=job.params["connection_id"]).first()
    messages.success(request, format_html('Checking the vector stores and files on {}: <a href="{}">job #{}</a>.',
                                          connection.name if connection else "the Sandbox",
                                          job.get_absolute_url(), job.pk))
    return redirect(_back(assistant, connection))


@require_POST
def attach_vector_store(request: HttpRequest, pk: int) -> HttpResponse:
    """Fix a file_search tool that names no vector store (or a missing one) from its card: a new draft version."""
    assistant = _assistant(request, pk)
    form = AttachVectorStoreForm(request.POST)
    back = _back(assistant, chosen_connection(request.POST.get("connection")))
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(v) for v in form.errors.values()))
        return redirect(back)
    refusals_go_to(request, back)
    version = tool_services.attach_vector_store(assistant_id=assistant.pk, tool_key=form.cleaned_data["tool_key"],
                                                vector_store_ids=form.cleaned_data["ids"], actor=request.user)
    messages.success(request, format_html(
        '{} Saved as <a href="{}">v{}</a>, the new draft: test the tool again, then ask a product owner to review it.',
        version.message, reverse("prompts:assistant_prompt", args=[assistant.pk]), version.number))
    return redirect(back)
