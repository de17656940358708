"""``core:suggest``: one page of suggestions for a search box (``migrator.core.suggest``), an htmx fragment."""

from __future__ import annotations

import re

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from migrator.core import safeinput
from migrator.core.suggest import KINDS, MAX_QUERY, suggestions

_LABEL = re.compile(r".*\(([^()\s]+)\)")


def suggest(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such list.")
    # The search box is named after its field (``<field>__search``) so a form never mistakes it for a field.
    text = request.GET.get("q")
    if text is None:
        text = next((v for k, v in request.GET.items() if k.endswith("__search")), "")
    # A box showing its chosen value reads "Name (id)": focusing it suggests that one first, by its id.
    chosen = _LABEL.fullmatch(text.strip())
    if chosen:
        text = chosen.group(1)
    page = safeinput.param_int(request.GET, "page") or 1
    page = min(max(page, 1), 1000)
    rows, more = suggestions(kind, request.user, text[:MAX_QUERY], page)
    return render(request, "partials/suggest_list.html", {
        "rows": rows, "more": more, "next_page": page + 1, "kind": kind, "text": text[:MAX_QUERY], "page": page})
