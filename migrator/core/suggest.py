"""Search boxes with server-side suggestions, instead of selects that list every object.

A form field using ``SuggestInput(kind)`` renders a hidden input holding the chosen value (an id, submitted as
the field's value exactly as a select would) and a search box that asks ``core:suggest`` for one page of
matches as the user types (htmx, debounced, a newer request replacing an older one), like the admin's
``autocomplete_fields``. A page therefore never loads more than ``PAGE`` objects, whatever the table holds.

Core's kinds are below; other apps register theirs with :func:`register`. Each kind says which rows a user may see, how a query matches them (exact and prefix id lookups first, then
name contains), the submitted value, and the label shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

PAGE = 10  # suggestions a request returns
MAX_QUERY = 100  # characters of the search text used


@dataclass(frozen=True)
class Suggestion:
    value: str
    label: str


@dataclass(frozen=True)
class Kind:
    search: Callable[[Any, str], QuerySet]  # (user, text) -> ordered queryset of matches
    row: Callable[[Any], Suggestion]
    current: Callable[[Any, str], Suggestion | None]  # (user, submitted value) -> its label, or None


def _assistants(user, text: str) -> QuerySet:
    from migrator.core.models import Assistant

    qs = Assistant.objects.visible_to(user).only("id", "name", "legacy_id")
    if text:
        qs = qs.filter(Q(legacy_id__startswith=text) | Q(name__icontains=text))
    return qs.order_by("name", "id")


def _assistant_row(a) -> Suggestion:
    return Suggestion(str(a.pk), f"{a.display_name} ({a.legacy_id})")


def _assistant_id_row(a) -> Suggestion:
    return Suggestion(a.legacy_id, f"{a.display_name} ({a.legacy_id})")


def _assistant_by_pk(user, value: str) -> Suggestion | None:
    from migrator.core import safeinput
    from migrator.core.models import Assistant

    pk = safeinput.parse_int(value, low=1)
    a = Assistant.objects.visible_to(user).only("id", "name", "legacy_id").filter(pk=pk).first() if pk else None
    return _assistant_row(a) if a else None


def _assistant_by_legacy_id(user, value: str) -> Suggestion | None:
    from migrator.core.models import Assistant

    a = Assistant.objects.visible_to(user).only("id", "name", "legacy_id").filter(legacy_id=value[:128]).first()
    return _assistant_id_row(a) if a else Suggestion(value, value)


def _flows(user, text: str) -> QuerySet:
    from migrator.core.models import Flow

    qs = Flow.objects.visible_to(user).only("id", "name", "slug")
    if text:
        qs = qs.filter(Q(slug__startswith=text.lower()) | Q(name__icontains=text))
    return qs.order_by("name", "id")


def _flow_row(f) -> Suggestion:
    return Suggestion(str(f.pk), f"{f.name} ({f.slug})")


def _flow_by_pk(user, value: str) -> Suggestion | None:
    from migrator.core import safeinput
    from migrator.core.models import Flow

    pk = safeinput.parse_int(value, low=1)
    f = Flow.objects.visible_to(user).only("id", "name", "slug").filter(pk=pk).first() if pk else None
    return _flow_row(f) if f else None


KINDS: dict[str, Kind] = {
    "assistants": Kind(_assistants, _assistant_row, _assistant_by_pk),
    "assistant-ids": Kind(_assistants, _assistant_id_row, _assistant_by_legacy_id),
    "flows": Kind(_flows, _flow_row, _flow_by_pk),
}


def register(name: str, kind: Kind) -> None:
    """Add a kind from another app (its ``tabs.py``, imported by ``CoreConfig.ready``), so core reads no app's
    tables: inventory registers ``flow-slugs``, the slugs its imported threads name."""
    KINDS[name] = kind


def suggestions(kind: str, user, text: str, page: int) -> tuple[list[Suggestion], bool]:
    """One page of matches (page ≥ 1) and whether there is a next one: PAGE + 1 rows read, never a COUNT."""
    spec = KINDS[kind]
    start = (page - 1) * PAGE
    rows = list(spec.search(user, text.strip()[:MAX_QUERY])[start:start + PAGE + 1])
    return [spec.row(r) for r in rows[:PAGE]], len(rows) > PAGE


class SuggestInput(forms.Widget):
    """A hidden input with the chosen value and a search box asking the server for suggestions (see module)."""

    template_name = "partials/suggest_widget.html"

    def __init__(self, kind: str, placeholder: str = "Type to search…", attrs: dict | None = None) -> None:
        super().__init__(attrs)
        if kind not in KINDS:
            raise ValueError(f"unknown suggestion kind {kind!r}")
        self.kind = kind
        self.placeholder = placeholder
        self.user = None  # set by the form (suggest_for) so the current value's label respects permissions

    def format_value(self, value) -> str:
        if value is None or value == "":
            return ""
        return str(getattr(value, "pk", value))

    def render(self, name, value, attrs=None, renderer=None) -> str:
        value = self.format_value(value)
        attrs = self.build_attrs(self.attrs, attrs)
        current = KINDS[self.kind].current(self.user, value) if (value and self.user is not None) else None
        return render_to_string(self.template_name, {
            "name": name, "value": value, "id": attrs.get("id", f"id_{name}"),
            "label": current.label if current else value, "placeholder": self.placeholder,
            "url": reverse("core:suggest", args=[self.kind]),
        })

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_search" if id_ else id_  # the label names the box one types in

    def value_from_datadict(self, data, files, name):
        return data.get(name)

    def use_required_attribute(self, initial) -> bool:
        return False  # the hidden input cannot carry it; the field's own validation says what is missing


def suggest_for(form: forms.Form, user) -> None:
    """Tell the form's suggestion widgets whose permissions label the current value."""
    for field in form.fields.values():
        if isinstance(field.widget, SuggestInput):
            field.widget.user = user
