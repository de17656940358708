"""Audit events as sentences: one presenter registry, each app registering its own verbs.

An app declares its sentences in ``<app>/activity.py`` (autodiscovered, never listed)::

    from migrator.core.activity import register, say

    @register("migrator.prompt.approved")
    def approved(e):
        return say("{actor} approved {version} of {assistant}.", version=e.data_value("version", "v"), ...)

A presenter gets an :class:`EventView` (actor and object already rendered as HTML, with links where the
object has a page) and returns safe HTML. A verb registered with a trailing ``*`` covers every verb with that
prefix (``migrator.flow.mode_*``). Unknown verbs get a plain fallback sentence, never a code or a dict dump;
the raw event stays one click away on the audit log for engineers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.html import format_html
from django.utils.safestring import SafeString

Presenter = Callable[["EventView"], SafeString | str]
EMPTY = SafeString("")
_REGISTRY: dict[str, Presenter] = {}
_PREFIXES: dict[str, Presenter] = {}


def register(verb: str, presenter: Presenter | None = None):
    """Register a presenter for ``verb`` (or a ``prefix*``); usable as a decorator."""

    def add(fn: Presenter) -> Presenter:
        if verb.endswith("*"):
            _PREFIXES[verb[:-1]] = fn
        else:
            _REGISTRY[verb] = fn
        return fn

    return add(presenter) if presenter is not None else add


def say(template: str, **parts: Any) -> SafeString:
    """``format_html`` under a shorter name: every part is escaped unless it is already safe HTML. A sentence
    never ends in two full stops when a quoted reason ends in one."""
    text = str(format_html(template, **parts)).replace(".).", ".)").replace(".”.", ".”")
    return SafeString(text[:-1] if text.endswith("..") and not text.endswith("...") else text)


def quoted(text: Any, before: str = ": ") -> SafeString:
    """``: “reason”`` or nothing."""
    return format_html("{}“{}”", before, str(text).strip()) if text else EMPTY


def label_of_choice(choices: type[models.TextChoices] | None, value: Any) -> str:
    """The human label of a status/mode value; unknown values read as words, not codes."""
    if value in (None, ""):
        return "none"
    if choices is not None:
        try:
            return str(choices(value).label)
        except ValueError:
            pass
    return str(value).replace("_", " ")


@dataclass
class EventView:
    event: Any
    actor: SafeString
    obj: SafeString
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verb(self) -> str:
        return self.event.verb

    @property
    def data(self) -> dict[str, Any]:
        return self.event.data if isinstance(self.event.data, dict) else {}

    @property
    def before(self) -> dict[str, Any]:
        return self.event.before if isinstance(self.event.before, dict) else {}

    @property
    def after(self) -> dict[str, Any]:
        return self.event.after if isinstance(self.event.after, dict) else {}

    def assistant(self) -> SafeString:
        """The assistant named by ``data.assistant_id`` (prompt events), linked to its page."""
        found = self.extra.get("assistant")
        if not found:
            return format_html("{}", "an assistant")
        name, url = found
        return format_html('<a href="{}">{}</a>', url, name)

    def link(self, text: str, url: str = "") -> SafeString:
        target = url or self.url
        return format_html('<a href="{}">{}</a>', target, text) if target else format_html("{}", text)


@dataclass
class Entry:
    """One line of a feed: when, who, the sentence, and the raw event for engineers."""

    event: Any
    sentence: SafeString
    raw: str

    @property
    def when(self):
        return self.event.created_at


def _words(parts: list[str]) -> str:
    return " ".join(parts).replace("_", " ").replace("apitoken", "API token").strip().capitalize()


def verb_choices() -> list[tuple[str, Any]]:
    """Choices for the audit log's action filter, in words: every verb that has a sentence, grouped by what it
    acts on, each group led by "any … action" (the filter matches verbs by prefix, so a family covers all its
    verbs, ``mode_*`` families included)."""
    groups: dict[str, dict[str, str]] = {}
    for verb in [*_REGISTRY, *(prefix.rstrip("._") for prefix in _PREFIXES)]:
        parts = verb.split(".")
        if len(parts) < 2:
            continue
        family = ".".join(parts[:2])
        members = groups.setdefault(family, {})
        if len(parts) > 2:
            members[verb] = _words(parts[2:])
    choices: list[tuple[str, Any]] = [("", "Any action")]
    for family in sorted(groups, key=lambda f: _words(f.split(".")[1:])):
        thing = _words(family.split(".")[1:])
        members = sorted(groups[family].items(), key=lambda kv: kv[1])
        choices.append((thing, [(family, f"Any {thing[0].lower() + thing[1:]} action"), *members]))
    return choices


def presenter_for(verb: str) -> Presenter | None:
    if verb in _REGISTRY:
        return _REGISTRY[verb]
    matches = [p for p in _PREFIXES if verb.startswith(p)]
    return _PREFIXES[max(matches, key=len)] if matches else None


def _fallback(e: EventView) -> SafeString:
    what = e.verb.removeprefix("migrator.").split(".")
    action = what[-1].replace("_", " ") if what else e.verb
    return say("{actor}: {action} — {obj}.", actor=e.actor, action=action, obj=e.obj)


def _actor_html(event: Any) -> SafeString:
    name = event.actor_label or "the system"
    if getattr(event, "actor_kind", "user") == "system":
        return format_html('<span class="actor-system">{}</span>', name)
    return format_html("<strong>{}</strong>", name)


def _object_urls(events: list[Any]) -> dict[tuple[str, str], str]:
    """Batch-load each referenced object once and ask it for its page."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.object_type and event.object_id:
            wanted.setdefault(event.object_type, set()).add(event.object_id)
    urls: dict[tuple[str, str], str] = {}
    for label, ids in wanted.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        if not hasattr(model, "get_absolute_url"):
            continue
        pks = [i for i in ids if i.isdigit()] if isinstance(model._meta.pk, models.AutoField | models.BigAutoField) else list(ids)
        for obj in model._default_manager.filter(pk__in=pks):
            try:
                urls[(label, str(obj.pk))] = obj.get_absolute_url()
            except Exception:  # an object whose page needs more than itself: show it without a link
                continue
    return urls


def _assistants(events: list[Any]) -> dict[str, tuple[str, str]]:
    ids = {str(e.data.get("assistant_id")) for e in events if isinstance(e.data, dict) and e.data.get("assistant_id")}
    if not ids:
        return {}
    model = apps.get_model("core.assistant")
    return {str(a.pk): (a.display_name, a.get_absolute_url())
            for a in model._default_manager.filter(pk__in=[i for i in ids if i.isdigit()])}


def present(events: Iterable[Any]) -> list[Entry]:
    """Sentences for a list of audit events (one query per object type for the links)."""
    events = list(events)
    urls = _object_urls(events)
    assistants = _assistants(events)
    out = []
    for event in events:
        url = urls.get((event.object_type, event.object_id), "")
        name = event.object_repr or (event.object_type.split(".")[-1] if event.object_type else "")
        obj = format_html('<a href="{}">{}</a>', url, name) if url else format_html("{}", name or "—")
        view = EventView(event=event, actor=_actor_html(event), obj=obj, url=url)
        if isinstance(event.data, dict) and event.data.get("assistant_id"):
            view.extra["assistant"] = assistants.get(str(event.data["assistant_id"]))
        presenter = presenter_for(event.verb) or _fallback
        try:
            sentence = presenter(view)
        except Exception:  # a presenter must never break a page; the fallback still says what happened
            sentence = _fallback(view)
        raw = json.dumps({"verb": event.verb, "object": f"{event.object_type} #{event.object_id}".strip(" #"),
                          "before": event.before, "after": event.after, "data": event.data},
                         indent=2, ensure_ascii=False, default=str)
        out.append(Entry(event=event, sentence=format_html("{}", sentence), raw=raw))
    return out


def describe(event: Any) -> SafeString:
    return present([event])[0].sentence


# Core's own verbs (other apps register theirs in <app>/activity.py). ----------------------------------------
def _status_label(kind: str, value: Any) -> str:
    from migrator.core.status import FlowStatus, MigrationStatus

    return label_of_choice(MigrationStatus if kind == "assistant" else FlowStatus, value)


def _reason(e: EventView) -> SafeString:
    reason = str(e.data.get("reason") or "").strip().rstrip(".")
    return format_html(" ({})", reason) if reason else EMPTY


@register("migrator.assistant.status_changed")
def _assistant_status(e: EventView) -> SafeString:
    return say("{actor} moved {obj} from {a} to <strong>{b}</strong>{why}.", actor=e.actor, obj=e.obj,
               a=_status_label("assistant", e.before.get("status")), b=_status_label("assistant", e.after.get("status")),
               why=_reason(e))


@register("migrator.flow.status_changed")
def _flow_status(e: EventView) -> SafeString:
    return say("{actor} moved flow {obj} from {a} to <strong>{b}</strong>{why}.", actor=e.actor, obj=e.obj,
               a=_status_label("flow", e.before.get("status")), b=_status_label("flow", e.after.get("status")),
               why=_reason(e))


def _job_kind(e: EventView) -> str:
    from migrator.core.jobs import registry

    kind = e.data.get("kind", "")
    handler = registry.get(kind)
    return handler.label.lower() if handler else (kind.replace(".", " ").replace("_", " ") or "a job")


@register("migrator.job.started")
def _job_started(e: EventView) -> SafeString:
    return say("{actor} started {job} ({kind}).", actor=e.actor, job=e.obj, kind=_job_kind(e))


@register("migrator.job.*")
def _job_finished(e: EventView) -> SafeString:
    outcome = e.verb.rsplit(".", 1)[-1].replace("_", " ")
    words = {"succeeded": "finished", "failed": "failed", "cancelled": "was cancelled", "reaped":
             "was marked failed: its worker stopped answering", "cancel requested": "was asked to stop"}
    error = e.data.get("error")
    tail = format_html(": {}", error[:200]) if error else EMPTY
    if outcome == "cancel requested":
        return say("{actor} asked {job} to stop.", actor=e.actor, job=e.obj)
    return say("{job} ({kind}) {what}{tail}.", job=e.obj, kind=_job_kind(e), what=words.get(outcome, outcome),
               tail=tail)


@register("migrator.connection.created")
def _connection_created(e: EventView) -> SafeString:
    return say("{actor} added the connection {obj} ({url}).", actor=e.actor, obj=e.obj,
               url=e.after.get("base_url", ""))


@register("migrator.connection.updated")
def _connection_updated(e: EventView) -> SafeString:
    changed = sorted(k for k in set(e.before) | set(e.after) if e.before.get(k) != e.after.get(k))
    what = ", ".join(c.replace("_", " ") for c in changed) or "its settings"
    return say("{actor} changed {what} of the connection {obj}.", actor=e.actor, what=what, obj=e.obj)


@register("migrator.connection.keys_rotated")
def _connection_keys_rotated(e: EventView) -> SafeString:
    names = e.data.get("connections") or []
    unreadable = e.data.get("unreadable") or []
    tail = format_html("; {} could not be read and must be entered again", ", ".join(unreadable)) if unreadable \
        else EMPTY
    return say("{actor} re-encrypted the stored API keys of {count} connection(s) with the newest encryption "
               "key{tail}.", actor=e.actor, count=len(names), tail=tail)
