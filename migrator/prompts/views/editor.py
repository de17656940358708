"""The editor: instructions or the whole configuration, validated inline (htmx) before anything is saved."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from migrator.core.navigation import assistant_tabs
from migrator.core.services import ServiceError
from migrator.core.views.common import message_for
from migrator.prompts import presenters, services
from migrator.prompts.conversion import validate_config
from migrator.prompts.conversion.instructions import lint_instructions
from migrator.prompts.forms import ConfigForm, InstructionsForm
from migrator.prompts.views.common import require_perm, visible_version


def _context(request: HttpRequest, version, *, instructions_form=None, config_form=None, mode="instructions",
             problems=None, error="") -> dict:
    return {
        "assistant": version.assistant,
        "version": version,
        "tabs": assistant_tabs(version.assistant_id, "prompt"),
        "mode": mode,
        "instructions_form": instructions_form or InstructionsForm(initial={"instructions": version.instructions}),
        "config_form": config_form or ConfigForm(initial={"config": json.dumps(version.config, indent=2,
                                                                               ensure_ascii=False)}),
        "problems": problems or [],
        "error": error,
    }


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    version = visible_version(request, pk)
    require_perm(request, "prompts.edit_prompt", "Only product owners may edit prompts.")
    if request.method == "GET":
        mode = "config" if request.GET.get("mode") == "config" else "instructions"
        return render(request, "prompts/edit.html", _context(request, version, mode=mode))
    mode = "config" if request.POST.get("mode") == "config" else "instructions"
    form = ConfigForm(request.POST) if mode == "config" else InstructionsForm(request.POST)
    forms_kw = {"config_form": form} if mode == "config" else {"instructions_form": form}
    if not form.is_valid():
        return render(request, "prompts/edit.html", _context(request, version, mode=mode, **forms_kw), status=422)
    kwargs = ({"config": form.cleaned_data["config"]} if mode == "config"
              else {"instructions": form.cleaned_data["instructions"]})
    try:
        new = services.save_edit(parent_id=version.pk, actor=request.user, message=form.cleaned_data["message"],
                                 **kwargs)
    except services.ConfigInvalid as exc:
        return render(request, "prompts/edit.html", _context(request, version, mode=mode, problems=exc.problems,
                                                              **forms_kw), status=422)
    except ServiceError as exc:
        return render(request, "prompts/edit.html", _context(request, version, mode=mode, error=message_for(exc),
                                                              **forms_kw), status=422)
    messages.success(request, f"Saved v{new.number} (draft). A product owner other than you approves it.")
    return redirect(reverse("prompts:assistant_prompt", args=[new.assistant_id]) + f"?v={new.number}")


@require_POST
def validate(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: check the editor's content as it is typed; nothing is saved."""
    version = visible_version(request, pk)
    require_perm(request, "prompts.edit_prompt", "Only product owners may edit prompts.")
    if request.POST.get("mode") == "config":
        form = ConfigForm(request.POST)
        if not form.is_valid():
            context = {"error": " ".join(form.errors.get("config", [])) or "Enter a configuration.", "problems": []}
        else:
            context = {"problems": validate_config(form.cleaned_data["config"]), "error": "", "checked": True}
        return render(request, "prompts/edit.html#validation", context)
    text = request.POST.get("instructions", "")
    tools = [t for t in version.config.get("tools") or [] if isinstance(t, dict)]
    findings = [f.to_dict() for f in lint_instructions(text, tools=tools)]
    context = {
        "lint": presenters.instruction_findings(findings),
        "highlighted": presenters.highlight_instructions(text, findings),
        "checked": True,
        "length": len(text),
    }
    return render(request, "prompts/edit.html#instruction-lint", context)
