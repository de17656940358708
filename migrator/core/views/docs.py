"""The operator docs that pages link to (docs/*.md), shown inside the app as their plain Markdown text."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

# Only files of docs/ that exist are served, by their name without .md: no path is ever built from input.
_DOCS_DIR = settings.BASE_DIR / "docs"


def doc(request: HttpRequest, name: str) -> HttpResponse:
    available = {p.stem: p for p in _DOCS_DIR.glob("*.md")}
    path = available.get(name)
    if path is None:
        raise Http404(f"There is no document named {name!r}.")
    text = path.read_text(encoding="utf-8")
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), name)
    return render(request, "core/doc.html", {"title": title, "text": text, "name": name})
