"""Validation pages: test sets, runs with live progress, the report, case detail, comparison, trend, exports.

Thin doors onto ``services``: a ServiceError becomes a message on the page; a NotAllowed is left to the
middleware (403).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.text import slugify
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from migrator.core import safeinput
from migrator.core.models import Assistant, Connection, Flow
from migrator.core.navigation import assistant_tabs
from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, refusals_go_to
from migrator.prompts.diff import word_diff
from migrator.validation import export, projection, promptfoo, report
from migrator.validation.checks import CHECKS_BY_NAME, DEFAULT_CHECKS, resolve
from migrator.validation.forms import ManualCaseForm, RunForm, TestSetForm
from migrator.validation.models import RUN_FINISHED, TestSet, ValidationRun, Verdict
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services


def _form_errors(form) -> str:
    return "; ".join(f"{name if name != '__all__' else 'form'}: {' '.join(errs)}" for name, errs in form.errors.items())


def _set(request: HttpRequest, pk: int) -> TestSet:
    return get_object_or_404(TestSet.objects.visible_to(request.user).select_related("assistant", "flow"), pk=pk)


def _run(request: HttpRequest, pk: int) -> ValidationRun:
    return get_object_or_404(ValidationRun.objects.visible_to(request.user).select_related(
        "test_set", "test_set_version", "assistant", "flow", "prompt_version"), pk=pk)


# --- test sets ------------------------------------------------------------------------------------------------


def testset_list(request: HttpRequest) -> HttpResponse:
    sets = TestSet.objects.visible_to(request.user).select_related("assistant", "flow")
    runs = ValidationRun.objects.visible_to(request.user).select_related("test_set", "flow", "assistant")[:15]
    return render(request, "validation/testset_list.html", {
        "sets": sets[:200], "runs": runs, "can_add": request.user.has_perm("validation.add_testset")})


def testset_new(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("validation.add_testset"):
        raise PermissionDenied("You may not build test sets.")
    initial = {}
    flow = Flow.objects.filter(pk=safeinput.param_int(request.GET, "flow")).select_related("assistant").first()
    assistant = Assistant.objects.filter(pk=safeinput.param_int(request.GET, "assistant")).first()
    if flow is not None:
        initial.update(flow=flow, assistant=flow.assistant, name=f"{flow.name} replay")
    elif assistant is not None:
        initial.update(assistant=assistant, name=f"{assistant.display_name} replay")
    form = TestSetForm(request.POST or None, initial=initial, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                test_set = set_services.create_test_set(
                    actor=request.user, assistant_id=d["assistant"].pk, flow_id=d["flow"].pk if d["flow"] else None,
                    name=d["name"], strategy=d["strategy"], sample_size=d["sample_size"], thread_ids=d["thread_ids"],
                    sample_thread_id=d["sample_thread_id"].strip())
            except ServiceError as exc:
                form.add_error(None, message_for(exc))
            else:
                messages.success(request, f"Test set {test_set.name} built with {len(test_set.current_version.case_ids)} cases.")
                return redirect(test_set)
        status = 422
    return render(request, "validation/testset_new.html", {"form": form}, status=status)


def _detail_context(request: HttpRequest, test_set: TestSet, **extra) -> dict:
    version = test_set.current_version
    cases = version.cases() if version else []
    excluded = list(test_set.cases.filter(key__in=list((version.excluded if version else {}).keys()))
                    .order_by("key").values("key", "thread_legacy_id", "turn"))
    for row in excluded:
        row["reason"] = version.excluded.get(row["key"], "")
    connections = Connection.objects.order_by("-is_sandbox", "name")
    run_form = extra.pop("run_form", None) or RunForm(initial={"connection": connections.first()})
    candidate = run_services.candidate_version(test_set.assistant_id) if version else None
    plan = (projection.project(cases=cases, config=dict(candidate.config or {}))
            if candidate is not None and cases else None)
    return {
        "projection": plan, "projection_version": candidate,
        "test_set": test_set, "version": version, "cases": cases, "excluded": excluded,
        "runs": test_set.runs.select_related("flow")[:20], "versions": test_set.versions.all()[:10],
        "can_edit": request.user.has_perm("validation.change_testset"),
        "can_run": request.user.has_perm("core.run_validation"),
        "run_form": run_form, "case_form": extra.pop("case_form", None) or ManualCaseForm(),
        "checks": [{"name": name, "help": CHECKS_BY_NAME[name].help, **values}
                   for name, values in resolve(test_set.checks).items() if not name.startswith("_")],
        "case_threshold": resolve(test_set.checks)["_case_threshold"]["value"],
        "tabs": assistant_tabs(test_set.assistant_id, "validation"),
        **extra,
    }


def testset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "validation/testset_detail.html", _detail_context(request, _set(request, pk)))


def _service(request: HttpRequest, test_set: TestSet, call, success: str) -> HttpResponse:
    refusals_go_to(request, test_set)
    call()
    messages.success(request, success)
    return redirect(test_set)


@require_POST
def testset_exclude(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    ids = safeinput.param_ints(request.POST, "case")
    return _service(request, test_set, lambda: set_services.exclude_cases(
        actor=request.user, test_set_id=test_set.pk, case_ids=ids, reason=request.POST.get("reason", "")),
        f"Excluded {len(ids)} case(s); the test set has a new version.")


@require_POST
def testset_include(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    keys = request.POST.getlist("key")
    return _service(request, test_set, lambda: set_services.include_cases(
        actor=request.user, test_set_id=test_set.pk, case_keys=keys), "Included again; the test set has a new version.")


@require_POST
def testset_redraw(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    return _service(request, test_set, lambda: set_services.redraw(actor=request.user, test_set_id=test_set.pk),
                    "Threads drawn again; the test set has a new version.")


def case_new(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    if request.method != "POST":
        return redirect(test_set)
    form = ManualCaseForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            expectations = set_services.parse_expectations(d["expectations"])
            case = set_services.add_manual_case(actor=request.user, test_set_id=test_set.pk, input_text=d["input_text"],
                                                expected_text=d["expected_text"], expectations=expectations,
                                                note=d["note"])
        except ServiceError as exc:
            form.add_error(None, message_for(exc))
        else:
            messages.success(request, f"Case {case.key} added; the test set has a new version.")
            return redirect(test_set)
    return render(request, "validation/testset_detail.html", _detail_context(request, test_set, case_form=form),
                  status=422)


@require_POST
def testset_checks(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    checks: dict[str, dict] = {}
    for spec in DEFAULT_CHECKS:
        entry: dict = {"enabled": request.POST.get(f"{spec.name}-enabled") == "on",
                       "blocking": request.POST.get(f"{spec.name}-blocking") == "on"}
        for key in ("threshold", "weight"):
            raw = request.POST.get(f"{spec.name}-{key}", "").strip()
            if raw or key == "threshold":
                entry[key] = raw
        checks[spec.name] = entry
    checks["tool_args"]["mode"] = request.POST.get("tool_args-mode", "partial")
    if request.POST.get("llm_judge-rubric", "").strip():
        checks["llm_judge"]["rubric"] = request.POST["llm_judge-rubric"].strip()
    checks["_case_threshold"] = {"value": request.POST.get("case_threshold", "0.7")}
    return _service(request, test_set, lambda: set_services.set_checks(
        actor=request.user, test_set_id=test_set.pk, checks=checks), "Check settings saved for the next runs.")


@require_POST
def run_start(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Could not start the run: {_form_errors(form)}")
        return redirect(test_set)
    d = form.cleaned_data
    version_id = None
    refusals_go_to(request, test_set)
    if d["version"]:
        version_id = run_services.resolve_version(test_set.assistant, version_number=d["version"]).pk
    run = run_services.start_run(actor=request.user, test_set_id=test_set.pk, connection_id=d["connection"].pk,
                                 version_id=version_id, mode=d["mode"] or "", repeats=d["repeats"],
                                 concurrency=d["concurrency"], budget_usd=d.get("budget_usd"),
                                 path=d.get("path") or "direct")
    return redirect(run)


# --- runs -----------------------------------------------------------------------------------------------------


def _run_context(request: HttpRequest, run: ValidationRun) -> dict:
    baseline = None
    base_id = safeinput.param_int(request.GET, "baseline")
    if base_id:
        baseline = ValidationRun.objects.visible_to(request.user).filter(pk=base_id).first()
    elif run.is_finished:
        baseline = report.default_baseline(run)
    check = request.GET.get("check", "")
    verdict = request.GET.get("verdict", "")
    if check not in CHECKS_BY_NAME:
        check = ""
    if verdict not in Verdict.values:
        verdict = ""
    rows = report.case_rows(run, baseline=baseline, check=check, verdict=verdict) if run.is_finished else []
    others = (ValidationRun.objects.visible_to(request.user).filter(assistant_id=run.assistant_id)
              .exclude(pk=run.pk).filter(status__in=RUN_FINISHED)[:20])
    return {"run": run, "rows": rows, "baseline": baseline, "check": check, "verdict": verdict,
            "stale": run_services.is_stale(run) if run.is_finished else "",
            "percent": round(100 * run.cases_done / run.cases_total) if run.cases_total else 0,
            "check_names": [(c["name"], c["label"], c["failed"] + c["errors"]) for c in run.check_summary],
            "others": others, "can_run": request.user.has_perm("core.run_validation"),
            "tabs": assistant_tabs(run.assistant_id, "validation")}


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "validation/run_detail.html", _run_context(request, _run(request, pk)))


def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled fragment: progress while the run goes on; once it has ended, the whole report, answered with
    htmx's stop-polling status so the swapped-in report polls no more."""
    run = _run(request, pk)
    if run.is_finished:
        context = _run_context(request, run)
        body = render_to_string("validation/run_detail.html#run-live", context, request=request)
        # The header (status badge, Cancel run) lives outside the polled fragment: swap it out of band so the
        # page ends in its final state without a reload.
        head = render_to_string("validation/run_detail.html#run-head", {**context, "oob": True}, request=request)
        return HttpResponseStopPolling(body + head)
    return render(request, "validation/run_detail.html#run-live", _run_context(request, run))


@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    refusals_go_to(request, run)
    run_services.cancel_run(actor=request.user, run_id=run.pk)
    messages.info(request, f"Cancelling run #{run.pk}; cases already replayed are kept.")
    return redirect(run)


def case_result(request: HttpRequest, pk: int, case_id: int) -> HttpResponse:
    run = _run(request, pk)
    if safeinput.parse_int(case_id) is None:  # the path's <int> takes any digits; the database holds a bigint
        raise Http404("No such case.")
    results = list(run.results.filter(case_id=case_id).select_related("case").order_by("repeat"))
    if not results:
        raise Http404("This case has no result in this run.")
    case = results[0].case
    views = []
    for result in results:
        diff = word_diff(case.expected_text, result.answer_text)
        recorded_calls = list(case.expected_tool_calls or [])
        pairs = []
        for call in result.tool_calls:
            match = next((r for r in recorded_calls if r["name"] == call["name"]), None)
            if match is not None:
                recorded_calls.remove(match)
            pairs.append({"recorded": match, "new": call})
        pairs.extend({"recorded": r, "new": None} for r in recorded_calls)
        views.append({"result": result, "diff": diff, "pairs": pairs})
    return render(request, "validation/case_result.html", {
        "run": run, "case": case, "views": views, "tabs": assistant_tabs(run.assistant_id, "validation")})


def run_compare(request: HttpRequest) -> HttpResponse:
    a = ValidationRun.objects.visible_to(request.user).filter(pk=safeinput.param_int(request.GET, "a")).first()
    b = ValidationRun.objects.visible_to(request.user).filter(pk=safeinput.param_int(request.GET, "b")).first()
    if a is None or b is None:
        raise Http404("Choose two runs you may see (?a=<baseline run>&b=<run>).")
    return render(request, "validation/compare.html", {"a": a, "b": b, **report.compare(a, b)})


def assistant_validation(request: HttpRequest, assistant_id: int) -> HttpResponse:
    assistant = get_object_or_404(Assistant.objects.visible_to(request.user), pk=assistant_id)
    flows = []
    for flow in assistant.flows.all():
        version, digest, mode = run_services.binding(flow)
        flows.append({"flow": flow, "version": version, "hash": digest, "mode": mode,
                      "evidence": run_services.evidence(flow) if digest else None})
    return render(request, "validation/assistant_validation.html", {
        "assistant": assistant, "flows": flows,
        "sets": TestSet.objects.visible_to(request.user).filter(assistant=assistant),
        "runs": ValidationRun.objects.visible_to(request.user).filter(assistant=assistant)[:20],
        "can_add": request.user.has_perm("validation.add_testset"),
        "tabs": assistant_tabs(assistant.pk, "validation")})


def flow_trend(request: HttpRequest, slug: str) -> HttpResponse:
    flow = get_object_or_404(Flow.objects.visible_to(request.user), slug=slug)
    runs = list(ValidationRun.objects.visible_to(request.user).filter(flow=flow, status__in=RUN_FINISHED)
                .exclude(status__in=["cancelled", "error"]).order_by("created_at", "id"))[-50:]
    _version, digest, mode = run_services.binding(flow)
    return render(request, "validation/flow_trend.html", {
        "flow": flow, "points": report.trend(runs), "current_hash": digest, "current_mode": mode})


# --- exports --------------------------------------------------------------------------------------------------


def _download(body: bytes | str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_config(test_set: TestSet) -> dict:
    version = run_services.candidate_version(test_set.assistant_id)
    if version is None:
        raise Http404("This assistant has no prompt version to export a provider for.")
    return dict(version.config or {})


def export_promptfoo(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    body = promptfoo.zip_files(promptfoo.test_set_files(test_set, config=_export_config(test_set)))
    return _download(body, f"{slugify(test_set.name) or 'testset'}-promptfoo.zip", "application/zip")


def export_jsonl(request: HttpRequest, pk: int) -> HttpResponse:
    test_set = _set(request, pk)
    return _download(export.jsonl(test_set), f"{slugify(test_set.name) or 'testset'}.jsonl", "application/jsonl")


def export_run_promptfoo(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    if run.test_set is None:
        raise Http404("The test set of this run was deleted.")
    connection = Connection.objects.filter(pk=run.connection_id).first()
    # The same files as `manage.py validation export --run ID --format promptfoo`: they reproduce the verdict.
    body = promptfoo.zip_files(promptfoo.run_files(run, base_url=connection.base_url if connection else ""))
    return _download(body, f"run-{run.pk}-promptfoo.zip", "application/zip")


def export_run_jsonl(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    if run.test_set is None:
        raise Http404("The test set of this run was deleted.")
    return _download(export.jsonl(run.test_set, run=run), f"run-{run.pk}.jsonl", "application/jsonl")
