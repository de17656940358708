"""Backfill pages: choose threads (live count and estimate), read the plan, run it, watch it, look, roll back."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from migrator.backfill.forms import RateLimitForm, SelectionForm, ThreadFilterForm
from migrator.backfill.models import BackfillRun, ConnectionRateLimit, RunStatus, ThreadBackfill, ThreadStatus
from migrator.backfill.services import coverage as coverage_service
from migrator.backfill.services import dryrun, exports, rollback, runs
from migrator.backfill.services import lookup as lookup_services
from migrator.backfill.services.calls import Caller, GaveUp, Refused
from migrator.backfill.services.planning import options_from
from migrator.backfill.services.selection import estimate, missing_thread_ids, selected_threads
from migrator.core import safeinput
from migrator.core.models import Assistant, Connection, Flow
from migrator.core.navigation import assistant_tabs
from migrator.core.services import NotAllowed, ServiceError, audit
from migrator.core.services.jobs import start_job
from migrator.core.views.common import paginate, refusals_go_to
from migrator.inventory.models import LegacyMessage, LegacyRun

PLAN_SAMPLE = 500  # threads whose ledgers are summed on the plan page (the count and estimate cover all)


def _require_view(request: HttpRequest) -> None:
    if not request.user.has_perm("backfill.view_backfillrun"):
        raise PermissionDenied("You may not see backfills.")


def _selection_form(request: HttpRequest) -> SelectionForm:
    data = request.GET.copy()
    if "connection" not in data:
        first = Connection.objects.order_by("-is_sandbox", "name").first()
        if first:
            data["connection"] = str(first.pk)
    data.setdefault("scope", "flow")
    data.setdefault("markers", "strip")
    data.setdefault("hosted_tools", "note")
    return SelectionForm(data, user=request.user)


# --- list and new ---------------------------------------------------------------------------------------------


def run_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    qs = BackfillRun.objects.visible_to(request.user).select_related("connection", "created_by", "flow")
    page = paginate(request, qs, 25)
    totals = dict(ThreadBackfill.objects.visible_to(request.user).values_list("status").annotate(n=Count("id")))
    return render(request, "backfill/run_list.html", {
        "page": page, "totals": [(s.label, totals.get(s.value, 0), s.value) for s in ThreadStatus],
        "can_run": request.user.has_perm(runs.RUN_PERM), "connections": Connection.objects.all(),
    })


def new_backfill(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    form = _selection_form(request)
    context: dict[str, Any] = {"form": form, "can_run": request.user.has_perm(runs.RUN_PERM)}
    context.update(_estimate_context(form))
    return render(request, "backfill/new.html", context)


def _estimate_context(form: SelectionForm) -> dict[str, Any]:
    if not form.is_valid():
        problems = [f"{form.fields[name].label or name.replace('_', ' ').capitalize() if name in form.fields else ''}: "
                    f"{' '.join(errors)}".lstrip(": ") for name, errors in form.errors.items()]
        return {"estimate": None, "estimate_error": " ".join(problems)}
    try:
        selection = form.selection()
        result = estimate(selection, form.cleaned_data["connection"])
    except ServiceError as exc:
        return {"estimate": None, "estimate_error": str(exc)}
    return {"estimate": result, "estimate_error": "", "missing": missing_thread_ids(selection)[:20],
            "selection_text": selection.describe()}


def estimate_panel(request: HttpRequest) -> HttpResponse:
    """The live count beside the form (htmx, on every change)."""
    _require_view(request)
    form = _selection_form(request)
    return render(request, "backfill/new.html#estimate", {"form": form, **_estimate_context(form)})


# --- plan (dry run) -------------------------------------------------------------------------------------------


def plan(request: HttpRequest) -> HttpResponse:
    """The dry run: what each thread becomes, what is changed or dropped and why. Nothing is sent or stored."""
    _require_view(request)
    form = _selection_form(request)
    if not form.is_valid():
        return render(request, "backfill/new.html", {"form": form, "can_run": request.user.has_perm(runs.RUN_PERM),
                                                     **_estimate_context(form)}, status=400)
    connection = form.cleaned_data["connection"]
    selection = form.selection()
    refusals_go_to(request, reverse("backfill:new") + "?" + request.GET.urlencode())
    threads = selected_threads(selection, connection)
    summary = estimate(selection, connection)
    options = options_from(form.options(), marker=f"backfill:{connection.pk}")
    done = dryrun.done_rows(connection)
    ledger: Counter[tuple[str, str, str]] = Counter()
    totals = Counter()
    sampled = 0
    for planned in dryrun.dry_run(threads[:PLAN_SAMPLE], options=options, done=done):
        sampled += 1
        if planned.outcome == dryrun.ALREADY:
            totals["already"] += 1
        elif planned.outcome in (dryrun.SKIPPED, dryrun.FAILED):
            totals[planned.outcome] += 1
            ledger[(planned.outcome, planned.reason[:120], "")] += 1
        elif planned.plan is not None:
            totals["items"] += len(planned.plan.items)
            totals["calls"] += planned.plan.batches
            for entry in planned.plan.ledger:
                ledger[(entry.kind, _generic(entry.what), entry.why)] += 1
    page = paginate(request, threads, 20)
    rows = []
    for planned in dryrun.dry_run(page.object_list, options=options, done=done):
        row: dict[str, Any] = {"thread": planned.thread,
                               "done": planned.done_row.conversation_id if planned.done_row else None}
        if planned.plan is not None:
            row["plan"] = planned.plan
        elif planned.outcome in (dryrun.SKIPPED, dryrun.FAILED):
            row["problem"] = planned.reason
            row["problem_kind"] = planned.outcome
        rows.append(row)
    return render(request, "backfill/plan.html", {
        "form": form, "selection_text": selection.describe(), "summary": summary, "rows": rows, "page": page,
        "ledger": sorted(ledger.items(), key=lambda kv: (-kv[1], kv[0])), "totals": totals, "sampled": sampled,
        "sample_limit": PLAN_SAMPLE, "query": request.GET.urlencode(), "options": options,
        "can_run": request.user.has_perm(runs.RUN_PERM), "missing": missing_thread_ids(selection)[:20],
    })


def _generic(what: str) -> str:
    """Ledger lines grouped across threads: ids and counts replaced by placeholders."""
    import re

    what = re.sub(r"\b(file|call|msg|run|step|thread)[-_][A-Za-z0-9_\-]+", r"\1-…", what)
    return re.sub(r"\b\d+\b", "N", what)


@require_POST
def run_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(runs.RUN_PERM):
        raise PermissionDenied("Only engineers start backfills.")
    form = _selection_form(request)
    if not form.is_valid():
        messages.error(request, "The selection is not valid any more; check it and try again.")
        return redirect(reverse("backfill:new") + "?" + request.GET.urlencode())
    refusals_go_to(request, reverse("backfill:plan") + "?" + request.GET.urlencode())
    run = runs.create_run(actor=request.user, connection=form.cleaned_data["connection"],
                          selection=form.selection(), options=form.options(),
                          budget_calls=request.POST.get("budget_calls"))
    if not run.thread_count:
        messages.info(request, "Nothing to do: every selected thread is already backfilled or being written.")
        return redirect(run)
    run = runs.start_run(actor=request.user, run=run)
    messages.success(request, f"{run} started: {run.thread_count} thread(s).")
    return redirect(run)


# --- a run ----------------------------------------------------------------------------------------------------


def _run(request: HttpRequest, pk: int) -> BackfillRun:
    _require_view(request)
    return get_object_or_404(BackfillRun.objects.visible_to(request.user).select_related("connection", "flow"),
                             pk=pk)


def _run_context(request: HttpRequest, run: BackfillRun) -> dict[str, Any]:
    return {"run": run, "p": runs.progress(run), "can_run": request.user.has_perm(runs.RUN_PERM),
            "can_rollback": request.user.has_perm(rollback.ROLLBACK_PERM),
            "stale": runs.stale_in_flight(run) if run.status == RunStatus.RUNNING else 0}


def _thread_context(request: HttpRequest, run: BackfillRun) -> dict[str, Any]:
    filters = ThreadFilterForm(request.GET)
    qs = ThreadBackfill.objects.filter(run=run).select_related("thread").order_by("id")
    if filters.is_valid():
        if filters.cleaned_data["status"]:
            qs = qs.filter(status=filters.cleaned_data["status"])
        if filters.cleaned_data["q"]:
            qs = qs.filter(thread__legacy_id__icontains=filters.cleaned_data["q"])
    return {"filters": filters, "page": paginate(request, qs, 50)}


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    context = {**_run_context(request, run), **_thread_context(request, run)}
    if request.htmx and request.htmx.target == "thread-rows":
        return render(request, "backfill/run_detail.html#thread-rows", context)
    return render(request, "backfill/run_detail.html", context)


def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled fragment; once the run is not running htmx is told to stop polling (and swaps the last one),
    with the thread table swapped out of band so no row is left saying "Pending" until a reload."""
    run = _run(request, pk)
    response = render(request, "backfill/run_detail.html#run-live", _run_context(request, run))
    if run.status != RunStatus.RUNNING:
        rows = render_to_string("backfill/run_detail.html#thread-rows",
                                {**_thread_context(request, run), "run": run, "oob": True}, request=request)
        return HttpResponseStopPolling(response.content + rows.encode())
    return response


@require_POST
def run_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    run = _run(request, pk)
    doers = {"pause": runs.pause_run, "resume": runs.resume_run, "cancel": runs.cancel_run}
    refusals_go_to(request, run)
    if action in doers:
        if action == "resume" and "budget_calls" in request.POST:  # a new budget (empty: none) to go on with
            run = runs.set_budget(actor=request.user, run=run, budget_calls=request.POST["budget_calls"])
        doers[action](actor=request.user, run=run)
        messages.success(request, f"{run}: {action} done.")
    elif action == "rollback":
        if not request.user.has_perm(rollback.ROLLBACK_PERM):
            raise NotAllowed("Only engineers roll backfills back.")
        if run.status == RunStatus.RUNNING:
            raise ServiceError("Pause or cancel the run before rolling it back.")
        job = start_job(kind="backfill.rollback", actor=request.user, params={"run_id": run.pk}, subject=run,
                        subject_label=f"Roll back {run}")
        audit.record(actor=request.user, verb="migrator.backfill.rollback_requested", obj=run,
                     data={"job": job.pk})
        messages.success(request, f"Rolling back {run} (job #{job.pk}): items first, then each conversation.")
    else:
        raise Http404("No such action.")
    return redirect(run)


# --- a thread beside its conversation -------------------------------------------------------------------------


def _tool_calls(run: LegacyRun) -> list[dict[str, Any]]:
    calls = []
    for step in run.steps or []:
        details = (step or {}).get("step_details") or {}
        for call in details.get("tool_calls") or []:
            kind = call.get("type")
            body = call.get(kind) or {}
            calls.append({"id": call.get("id"), "type": kind, "name": body.get("name") if kind == "function" else kind,
                          "arguments": body.get("arguments") if kind == "function" else body.get("input", ""),
                          "output": body.get("output") if kind == "function" else ""})
    return calls


def _display(item: dict[str, Any]) -> dict[str, Any]:
    """One conversation item (read back or planned) as the viewer shows it."""
    kind = item.get("type") or "message"
    out = {"id": item.get("id") or "", "type": kind, "role": item.get("role") or "", "css": item.get("role") or kind,
           "text": "", "code": "", "call_id": item.get("call_id") or ""}
    if kind == "message":
        parts = []
        for part in item.get("content") or []:
            ptype = part.get("type")
            if ptype in ("input_text", "output_text"):
                parts.append(part.get("text") or "")
            elif ptype == "refusal":
                parts.append(f"(refused) {part.get('refusal') or ''}")
            else:
                parts.append(f"[{ptype} {part.get('file_id') or part.get('image_url') or ''}]".replace(" ]", "]"))
        out["text"] = "\n".join(parts)
    elif kind == "function_call":
        out["code"] = f"{item.get('name')}({item.get('arguments')})"
    elif kind == "function_call_output":
        output = item.get("output")
        out["code"] = "→ " + (output if isinstance(output, str) else str(output))
    return out


def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_view(request)
    row = get_object_or_404(ThreadBackfill.objects.visible_to(request.user).select_related(
        "thread", "connection", "run"), pk=pk)
    thread = row.thread
    msgs = list(LegacyMessage.objects.filter(thread=thread).order_by("position"))
    legacy_runs = {r.legacy_id: {"run": r, "calls": _tool_calls(r)} for r in LegacyRun.objects.filter(thread=thread)}
    timeline = []
    shown_runs: set[str] = set()
    for m in msgs:
        if m.run_legacy_id and m.run_legacy_id in legacy_runs and m.run_legacy_id not in shown_runs:
            shown_runs.add(m.run_legacy_id)
            timeline.append({"kind": "run", **legacy_runs[m.run_legacy_id]})
        timeline.append({"kind": "message", "message": m})
    items: list[dict[str, Any]] | None = None
    items_error = ""
    if row.conversation_id:
        caller = None
        try:
            caller = Caller(row.connection)  # inside: a key the encryption key cannot read is shown, not a 500
            items = caller.list_items(row.conversation_id)
        except (Refused, GaveUp) as exc:
            items_error = str(exc)
        except Exception as exc:  # an unreachable API must not break the page: show the plan instead
            items_error = f"{type(exc).__name__}: {exc}"
        finally:
            if caller is not None:
                caller.close()
        if items is None and not items_error:
            items_error = f"The API does not know {row.conversation_id} (deleted outside migrator?)."
    return render(request, "backfill/thread_detail.html", {
        "row": row, "thread": thread, "timeline": timeline, "items_error": items_error,
        "live": items is not None, "items": [_display(i) for i in (items if items is not None else row.plan_items)],
        "can_rollback": request.user.has_perm(rollback.ROLLBACK_PERM) and row.status in rollback.ROLLABLE,
        "other_rows": ThreadBackfill.objects.filter(thread=thread).exclude(pk=row.pk).select_related("connection"),
    })


@require_POST
def thread_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    _require_view(request)
    row = get_object_or_404(ThreadBackfill.objects.visible_to(request.user), pk=pk)
    result = rollback.rollback_rows(actor=request.user, rows=[row])  # NotAllowed: the middleware answers 403
    if result["rolled_back"]:
        messages.success(request, f"Rolled back: {result['items_deleted']} item(s) and the conversation deleted.")
    else:
        why = "; ".join(t["why"] for t in result["not_rolled_back"]) or "nothing to roll back"
        messages.error(request, f"Not rolled back: {why}")
    return redirect("backfill:thread_detail", pk=row.pk)


# --- downloads, budget, assistant tab -------------------------------------------------------------------------


def mapping_download(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    _require_view(request)
    if fmt not in ("csv", "jsonl"):
        raise Http404("Download as mapping.csv or mapping.jsonl.")
    qs = ThreadBackfill.objects.visible_to(request.user)
    name = "backfill-mapping"
    for key, field in (("run", "run_id"), ("connection", "connection_id")):
        value = safeinput.param_int(request.GET, key)  # junk is a 400 naming the parameter
        if value is not None:
            qs = qs.filter(**{field: value})
            name += f"-{key}{value}"
    if request.GET.get("status") in ThreadStatus.values:
        qs = qs.filter(status=request.GET["status"])
    body = exports.as_csv(qs) if fmt == "csv" else exports.as_jsonl(qs)
    response = StreamingHttpResponse(body, content_type="text/csv" if fmt == "csv" else "application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def connection_budget(request: HttpRequest, pk: int) -> HttpResponse:
    _require_view(request)
    connection = get_object_or_404(Connection, pk=pk)
    limit = ConnectionRateLimit.objects.filter(connection=connection).first()
    if request.method == "POST":
        if not request.user.has_perm("backfill.change_connectionratelimit"):
            raise PermissionDenied("Only engineers set a connection's budget.")
        form = RateLimitForm(request.POST, instance=limit or ConnectionRateLimit(connection=connection))
        if form.is_valid():
            before = {"rpm": limit.rpm, "tpm": limit.tpm} if limit else None
            saved = form.save()
            audit.record(actor=request.user, verb="migrator.backfill.budget_set", obj=connection, before=before,
                         after={"rpm": saved.rpm, "tpm": saved.tpm})
            messages.success(request, f"Budget of {connection} saved.")
            return redirect("backfill:run_list")
    else:
        form = RateLimitForm(instance=limit)
    from migrator.core.ratebudget import RateBudget

    return render(request, "backfill/budget.html", {"connection": connection, "form": form,
                                                    "limits": RateBudget.for_connection(connection).limits()})


def assistant_backfill(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = get_object_or_404(Assistant.objects.visible_to(request.user), pk=pk)
    _require_view(request)
    slugs = sorted(set(assistant.legacy_threads.exclude(flow_slug="").values_list("flow_slug", flat=True))
                   | set(Flow.objects.filter(assistant=assistant).values_list("slug", flat=True)))
    flows = [{"slug": s, "coverage": coverage_service(s)} for s in slugs]
    recent = BackfillRun.objects.filter(Q(assistant=assistant) | Q(flow__assistant=assistant)).select_related(
        "connection")[:10]
    return render(request, "backfill/assistant_backfill.html", {
        "assistant": assistant, "flows": flows, "runs": recent, "tabs": assistant_tabs(assistant.pk, "backfill"),
        "threads": assistant.legacy_threads.count(), "can_run": request.user.has_perm(runs.RUN_PERM),
    })


def thread_lookup(request: HttpRequest) -> HttpResponse:
    """The page door of GET /api/v1/threads/{id}: which conversation a legacy thread became, if any."""
    _require_view(request)
    query = (request.GET.get("thread") or "").strip()[:200]
    found, thread = None, None
    if query:
        thread = lookup_services.find_thread(query)
        if thread is not None:
            found = lookup_services.lookup(thread)
    rows = (ThreadBackfill.objects.visible_to(request.user).filter(thread=thread).select_related("connection", "run")
            .order_by("-updated_at") if thread is not None else [])
    return render(request, "backfill/thread_lookup.html", {
        "query": query, "thread": thread, "answer": found.as_dict() if found else None, "rows": rows,
        "status": found.row.get_status_display() if found and found.row else "Not backfilled"})
