"""Compare versions, copy a version as code, and try it against a connection."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from migrator.core import safeinput
from migrator.core.models import Job
from migrator.core.models.job import JOB_FINISHED
from migrator.core.navigation import assistant_tabs
from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, refusals_go_to
from migrator.prompts import codegen, selectors, services, trying
from migrator.prompts.diff import pretty, word_diff
from migrator.prompts.forms import TryForm
from migrator.prompts.trying import state_mode_for
from migrator.prompts.views.common import abilities, visible_assistant, visible_version

ORIGINAL = "original"


def _side(assistant, key: str, versions: dict[int, object]) -> tuple[str, str, str] | None:
    """(title, instructions, settings JSON) for one side of a comparison."""
    if key == ORIGINAL:
        latest = next(iter(versions.values()), None)
        source = dict(getattr(latest, "source", None) or {}) or {"model": assistant.model,
                                                                 "instructions": assistant.instructions,
                                                                 "tools": assistant.tools}
        instructions = source.pop("instructions", "") or ""
        return "Original assistant", instructions, pretty(source)
    number = safeinput.parse_int(key)
    if number is None or number not in versions:
        return None
    version = versions[number]
    rest = {k: v for k, v in version.config.items() if k != "instructions"}
    return f"v{version.number}", version.instructions, pretty(rest)


@require_GET
def compare(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = visible_assistant(request, pk)
    versions = {v.number: v for v in selectors.versions_for(assistant)}
    if not versions:
        messages.info(request, "There is nothing to compare yet: generate a draft first.")
        return redirect("prompts:assistant_prompt", assistant.pk)
    current = selectors.current_version(assistant)
    default_b = str(current.number)
    default_a = str(current.parent.number) if current.parent_id else ORIGINAL
    a_key, b_key = request.GET.get("a", default_a), request.GET.get("b", default_b)
    left, right = _side(assistant, a_key, versions), _side(assistant, b_key, versions)
    if left is None or right is None:
        messages.error(request, "Pick two existing versions (or the original assistant) to compare.")
        a_key, b_key = default_a, default_b
        left, right = _side(assistant, a_key, versions), _side(assistant, b_key, versions)
    context = {
        "assistant": assistant,
        "tabs": assistant_tabs(assistant.pk, "prompt"),
        "versions": list(versions.values()),
        "a": a_key,
        "b": b_key,
        "left_title": left[0],
        "right_title": right[0],
        "instructions_diff": word_diff(left[1], right[1]),
        "settings_diff": word_diff(left[2], right[2]),
    }
    template = "prompts/compare.html#diff" if request.htmx else "prompts/compare.html"
    return render(request, template, context)


def _code_context(request: HttpRequest, assistant, version) -> dict:
    sample = request.GET.get("input") or codegen.DEFAULT_INPUT
    context = {"assistant": assistant, "tabs": assistant_tabs(assistant.pk, "prompt"), "version": version,
               "serving": selectors.serving_version(assistant), "sample": sample}
    if version is not None:
        context.update({
            "python_code": codegen.python_call(version.config, input_text=sample),
            "js_code": codegen.javascript_call(version.config, input_text=sample),
            "json_body": codegen.json_body(version.config, input_text=sample),
            "labels": [row.name for row in version.labels.all()],
        })
    return context


@require_GET
def version_code(request: HttpRequest, pk: int) -> HttpResponse:
    version = visible_version(request, pk)
    return render(request, "prompts/code.html", _code_context(request, version.assistant, version))


@require_GET
def assistant_code(request: HttpRequest, pk: int) -> HttpResponse:
    """The version production code serves (production label, else approved) as code."""
    assistant = visible_assistant(request, pk)
    return render(request, "prompts/code.html", _code_context(request, assistant, selectors.serving_version(assistant)))


@require_http_methods(["GET", "POST"])
def try_version(request: HttpRequest, pk: int) -> HttpResponse:
    version = visible_version(request, pk)
    if not request.user.has_perm("prompts.try_prompt"):
        raise PermissionDenied("You may not try prompt versions.")
    form = TryForm(request.POST or None, initial={"mode": state_mode_for(version.assistant)}, user=request.user)
    if request.method == "POST" and form.is_valid():
        connection = form.cleaned_data["connection"]
        try:
            job = services.start_try(version_id=version.pk, actor=request.user, input_text=form.cleaned_data["input"],
                                     connection_id=connection.pk if connection else None,
                                     mode=form.cleaned_data["mode"] or None)
        except ServiceError as exc:
            form.add_error(None, message_for(exc))
        else:
            messages.success(request, f"Sending v{version.number}; the job page shows the output, usage and latency.")
            url = reverse("core:job_detail", args=[job.pk])
            if request.htmx:
                return HttpResponseClientRedirect(url)
            return redirect(url)
    context = {
        "assistant": version.assistant,
        "tabs": assistant_tabs(version.assistant_id, "prompt"),
        "version": version,
        "form": form,
        "can": abilities(request.user, version),
        "tries": selectors.recent_tries(version.assistant, user=request.user),
        "config_json": json.dumps(version.config, indent=2, ensure_ascii=False),
    }
    return render(request, "prompts/try.html", context, status=422 if form.errors else 200)


@require_POST
def try_continue(request: HttpRequest, pk: int) -> HttpResponse:
    """The next turn of a try: new text and the outputs typed for the model's tool calls."""
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk, kind=services.TRY_JOB_KIND)
    outputs = {key.removeprefix("output_"): value for key, value in request.POST.items() if key.startswith("output_")}
    refusals_go_to(request, job.get_absolute_url() + "#continue")
    nxt = trying.continue_try(job_id=job.pk, actor=request.user, input_text=request.POST.get("input", ""),
                              tool_outputs=outputs)
    messages.success(request, f"Sending turn {nxt.params.get('turn')}.")
    return redirect(nxt.get_absolute_url())


LIVE_LIMIT_SECONDS = 120  # a try's stream; past this the page falls back to the job page's own refresh


@require_GET
def try_live(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Server-sent events with a running try's answer as it streams in: ``data: {"append": "..."}`` for each
    new piece, then ``event: done``. Read by static/js/app.js (fetch + reader; no inline script)."""
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk, kind=services.TRY_JOB_KIND)
    from migrator.prompts.models import TryLiveText

    def events() -> Iterator[str]:
        sent, deadline = 0, time.monotonic() + LIVE_LIMIT_SECONDS
        while True:
            # The job's status first, then its text: a job seen ended has written all of its text by then. The
            # stream ends when the job has (its text is whole a moment earlier), so "done" says how it ended.
            status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
            text = TryLiveText.objects.filter(job_id=job.pk).values_list("text", flat=True).first() or ""
            if len(text) > sent:
                yield f"data: {json.dumps({'append': text[sent:]})}\n\n"
                sent = len(text)
            finished = status in JOB_FINISHED
            if finished or time.monotonic() > deadline:
                yield f"event: done\ndata: {json.dumps({'status': status if finished else 'waiting'})}\n\n"
                return
            time.sleep(trying.LIVE_EVERY)

    response = StreamingHttpResponse(events(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must pass each event on at once
    return response
