"""The Convert page: one legacy assistant definition in, Responses settings out, with the ledger and findings.
Nothing is stored (``manage.py convert_assistant`` is the same conversion in a terminal)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from migrator.core.services import ServiceError
from migrator.core.views.common import message_for
from migrator.prompts import presenters
from migrator.prompts.converting import convert_text
from migrator.prompts.forms import ConvertForm


@require_http_methods(["GET", "POST"])
def convert_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("prompts.view_promptversion"):
        raise PermissionDenied("You may not read prompt versions.")
    form = ConvertForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            converted = convert_text(text=form.cleaned_data["text"], source=form.cleaned_data["source"],
                                     today=form.cleaned_data.get("today"))
        except ServiceError as exc:
            form.add_error(None, message_for(exc))
        else:
            report = converted.as_json()
            context.update({
                "converted": converted,
                "kwargs_json": converted.kwargs_json(),
                "python_code": converted.python(),
                "ledger_summary": presenters.ledger_summary(report["ledger"]),
                "ledger_rows": presenters.ledger_rows(report["ledger"]),
                "decisions": report["decisions"],
                "fixes": report["fixes"],
                "loose_schemas": converted.loose_schemas(),
                "config_findings": presenters.config_findings(report["findings"]),
                "instruction_findings": presenters.instruction_findings(report["findings"]),
            })
    return render(request, "prompts/convert.html", context, status=422 if form.errors else 200)
