"""The review page and its actions: generate, approve, labels, comments, strict choices."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from migrator.core import safeinput
from migrator.core.navigation import assistant_tabs
from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, refusals_go_to
from migrator.prompts import presenters, reviews, selectors, services
from migrator.prompts.decisions import resolve_ledger
from migrator.prompts.forms import CommentForm, LabelForm, StrictChoiceForm, TryForm
from migrator.prompts.models import LabelName, PromptVersion, ReviewStatus
from migrator.prompts.trying import state_mode_for
from migrator.prompts.views.common import abilities, visible_assistant, visible_version


def _prompt_url(assistant_id: int, number: int | None = None, anchor: str = "") -> str:
    url = reverse("prompts:assistant_prompt", args=[assistant_id])
    if number:
        url += f"?v={number}"
    return url + (f"#{anchor}" if anchor else "")


def _review_context(request: HttpRequest, assistant, version: PromptVersion | None, **extra) -> dict:
    labels = selectors.labels_for(assistant)
    versions = list(selectors.versions_for(assistant))
    context = {
        "assistant": assistant,
        "tabs": assistant_tabs(assistant.pk, "prompt"),
        "labels": labels,
        "label_names": LabelName,
        "version": version,
        "versions": versions,
        "serving": selectors.serving_version(assistant),
        "can": abilities(request.user, version),
        "comment_form": CommentForm(),
        "label_form": LabelForm(),
        "try_form": TryForm(initial={"mode": state_mode_for(assistant)}, user=request.user),
        "tries": selectors.recent_tries(assistant, user=request.user),
    }
    if version is not None:
        findings = version.findings or []
        ledger = resolve_ledger(version.ledger or [], version.strict_choices)
        version_labels = [name for name, row in labels.items() if row.version_id == version.pk]
        context.update({
            "version_labels": version_labels,
            "ledger_summary": presenters.ledger_summary(ledger),
            "ledger_rows": presenters.ledger_rows(ledger),
            "instruction_findings": presenters.instruction_findings(findings),
            "highlighted": presenters.highlight_instructions(version.instructions, findings),
            "config_findings": presenters.config_findings(findings),
            "schema_panels": presenters.schema_panels(version.schemas or [], findings, version.strict_choices or {}),
            "comments": version.comments.select_related("author"),
            "config_json": json.dumps(version.config, indent=2, ensure_ascii=False),
            "compare_default": version.parent.number if version.parent_id else "original",
            "review_requests": list(version.review_requests.select_related("requested_by", "reviewer")),
            "open_review": version.review_requests.filter(status=ReviewStatus.OPEN).first(),
            "reviewer_choices": [u for u in reviews.reviewers() if not services.self_approval(u, version)],
        })
    context.update(extra)
    return context


@require_GET
def assistant_prompt(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = visible_assistant(request, pk)
    number = request.GET.get("v")
    version = None
    if number:
        parsed = safeinput.parse_int(number, low=1)
        version = selectors.version_by_number(assistant, parsed) if parsed is not None else None
        if version is None:
            messages.error(request, f"There is no version {number[:40]!r} of this assistant; showing the current one.")
    version = version or selectors.current_version(assistant)
    return render(request, "prompts/assistant_prompt.html", _review_context(request, assistant, version))


@require_POST
def generate(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = visible_assistant(request, pk)
    refusals_go_to(request, _prompt_url(assistant.pk))
    version = services.generate_version(assistant_id=assistant.pk, actor=request.user)
    messages.success(request, f"Generated v{version.number} from the legacy assistant; it is the draft now.")
    return redirect(_prompt_url(assistant.pk, version.number))


def open_findings(version: PromptVersion) -> list[dict]:
    """What the linter still flags on this version: wording and configuration findings (they stay until the text
    or configuration changes) and strict-mode findings of schemas nobody has chosen for yet."""
    chosen = set((version.strict_choices or {}).keys())
    return [f for f in version.findings or [] if isinstance(f, dict)
            and (f.get("kind") != "strict" or f.get("schema_pointer") not in chosen)]


@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    version = visible_version(request, pk)
    findings = open_findings(version)
    if findings and request.POST.get("acknowledged") != "yes" and abilities(request.user, version)["approve_this"]:
        # Approving over open findings is allowed, but only once they have been read.
        return render(request, "prompts/approve_confirm.html", {
            "version": version, "assistant": version.assistant, "findings": findings,
            "back": _prompt_url(version.assistant_id, version.number)})
    refusals_go_to(request, _prompt_url(version.assistant_id, version.number))
    services.approve_version(version_id=version.pk, actor=request.user)
    messages.success(request, f"v{version.number} is approved.")
    return redirect(_prompt_url(version.assistant_id, version.number))


@require_POST
def move_label(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = visible_assistant(request, pk)
    form = LabelForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())
        messages.error(request, f"The label was not moved: {errors}")
        return redirect(_prompt_url(assistant.pk))
    version = selectors.version_by_number(assistant, form.cleaned_data["version"])
    if version is None:
        messages.error(request, f"There is no v{form.cleaned_data['version']} of this assistant.")
        return redirect(_prompt_url(assistant.pk))
    label = form.cleaned_data["label"]
    refusals_go_to(request, _prompt_url(assistant.pk, version.number))
    services.move_label(assistant_id=assistant.pk, label=label, version_id=version.pk, actor=request.user,
                        reason=form.cleaned_data["reason"])
    messages.success(request, f"{LabelName(label).label} now points at v{version.number}.")
    return redirect(_prompt_url(assistant.pk, version.number))


@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    version = visible_version(request, pk)
    if not request.user.has_perm("prompts.add_promptcomment"):
        raise PermissionDenied("You may not comment on prompts.")
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(version_id=version.pk, actor=request.user, body=form.cleaned_data["body"])
        except ServiceError as exc:
            form.add_error("body", message_for(exc))
    if request.htmx:
        context = {"version": version, "comments": version.comments.select_related("author"),
                   "comment_form": CommentForm() if form.is_valid() and not form.errors else form,
                   "can": abilities(request.user, version)}
        return render(request, "prompts/assistant_prompt.html#comments", context,
                      status=200 if not form.errors else 422)
    if form.errors:
        messages.error(request, "The comment was not saved: " + " ".join(form.errors.get("body", [])))
    return redirect(_prompt_url(version.assistant_id, version.number, "comments"))


@require_POST
def strict_choice(request: HttpRequest, pk: int) -> HttpResponse:
    version = visible_version(request, pk)
    if not request.user.has_perm("prompts.edit_prompt"):
        raise PermissionDenied("You may not edit prompts.")
    form = StrictChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the fixed or the original schema.")
        return redirect(_prompt_url(version.assistant_id, version.number))
    refusals_go_to(request, _prompt_url(version.assistant_id, version.number, "schemas"))
    new = services.choose_strict(version_id=version.pk, pointer=form.cleaned_data["pointer"],
                                 choice=form.cleaned_data["choice"], actor=request.user)
    messages.success(request, f"Saved as v{new.number}: {new.message}")
    return redirect(_prompt_url(version.assistant_id, new.number, "schemas"))


@require_GET
def export(request: HttpRequest, pk: int) -> HttpResponse:
    """The version with its ledger and findings, as a JSON download."""
    version = visible_version(request, pk)
    labels = [row.name for row in version.labels.all()]
    data = {
        "assistant": {"id": version.assistant_id, "legacy_id": version.assistant.legacy_id,
                      "name": version.assistant.name},
        "version": version.number,
        "parent": version.parent.number if version.parent_id else None,
        "labels": labels,
        "is_generated": version.is_generated,
        "author": version.author_label,
        "message": version.message,
        "created_at": version.created_at.isoformat(),
        "approved_by": version.approved_by.get_username() if version.approved_by_id else None,
        "approved_at": version.approved_at.isoformat() if version.approved_at else None,
        "source_hash": version.source_hash,
        "config": version.config,
        "ledger": resolve_ledger(version.ledger or [], version.strict_choices),
        "findings": version.findings,
        "schemas": version.schemas,
        "strict_choices": version.strict_choices,
    }
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    filename = f"{version.assistant.legacy_id}-v{version.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
