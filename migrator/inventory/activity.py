"""Sentences for the inventory app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrator.core.activity import EMPTY, EventView, register, say
from migrator.core.jobreports import register_report
from migrator.core.templatetags.migrator_tags import count


@register("migrator.inventory.imported")
def imported(e: EventView) -> SafeString:
    counts = e.data.get("counts") or {}
    parts = []
    for kind in ("assistants", "threads", "messages"):
        row = counts.get(kind) or {}
        if isinstance(row, dict) and any(row.values()):
            new, changed = row.get("created", 0), row.get("updated", 0)
            bits = [count(new, f"new {kind[:-1]}")]
            if changed:
                bits.append(f"{changed:,} updated")
            if row.get("rejected"):
                bits.append(f"{row['rejected']:,} rejected")
            parts.append(", ".join(bits))
    summary = "; ".join(parts) or "nothing new"
    source = e.data.get("source") or "an archive"
    via = format_html(" (connection {})", e.obj) if e.event.object_id else EMPTY
    errors = e.data.get("errors") or 0
    problems = format_html("; {} reported", count(errors, "problem")) if errors else EMPTY
    return say("{actor} imported from {source}{via}: {summary}{problems}.", actor=e.actor, source=source, via=via,
               summary=summary, problems=problems)


@register("migrator.assistant.definition_drifted")
def drifted(e: EventView) -> SafeString:
    fields = e.data.get("changed_fields") or []
    return say("The upstream definition of {obj} changed on re-import: {fields}.", obj=e.obj,
               fields=", ".join(fields) or "unknown fields")


@register("migrator.assistant.business_context_changed")
def business_context(e: EventView) -> SafeString:
    changed = [k.replace("_", " ") for k in sorted(set(e.before) | set(e.after)) if e.before.get(k) != e.after.get(k)]
    return say("{actor} changed the {what} of {obj}.", actor=e.actor, what=", ".join(changed) or "business context",
               obj=e.obj)


@register("migrator.connection.tested")
def tested(e: EventView) -> SafeString:
    answers = e.after
    if not answers:
        return say("{actor} tested the connection {obj}.", actor=e.actor, obj=e.obj)
    good = [k for k, v in answers.items() if v is True]
    bad = [k for k, v in answers.items() if v is False]
    tail = format_html("; not answering: {}", ", ".join(bad)) if bad else EMPTY
    return say("{actor} tested the connection {obj}: {good} answer{tail}.", actor=e.actor, obj=e.obj,
               good=", ".join(good) or "no API", tail=tail)


@register("migrator.connection.test_failed")
def test_failed(e: EventView) -> SafeString:
    apis = ", ".join(e.data.get("unreachable") or []) or "its APIs"
    return say("{actor} tested the connection {obj}, but could not reach {apis}; nothing was recorded about them.",
               actor=e.actor, obj=e.obj, apis=apis)


@register("migrator.inventory.exported")
def exported(e: EventView) -> SafeString:
    counts = e.data.get("counts") or {}
    summary = ", ".join(count(counts[kind], kind.replace("_", " ")) for kind in ("assistant", "thread", "message")
                        if counts.get(kind)) or "nothing"
    problems = e.data.get("problems") or 0
    tail = format_html("; {} reported", count(problems, "problem")) if problems else EMPTY
    return say("{actor} exported {summary} from the connection {obj} into an archive{tail}.", actor=e.actor,
               summary=summary, obj=e.obj, tail=tail)


# Job parameters and results of the inventory's job kinds (migrator.core.jobreports). ----------------------------
def _connection_link(job) -> SafeString:
    from django.urls import reverse

    from migrator.core.models import Connection

    found = Connection.objects.filter(pk=(job.params or {}).get("connection_id")).first()
    if found is None:
        return format_html("{}", "a connection that no longer exists")
    return format_html('<a href="{}">{}</a>', reverse("inventory:connection_list") + f"#connection-{found.pk}", found.name)


def _archive_params(job) -> SafeString:
    params = job.params or {}
    name = params.get("filename") or "an uploaded archive"
    kept = " The uploaded file is deleted once imported." if params.get("delete_after") else ""
    return format_html("Import the export archive <strong>{}</strong>.{}", name, kept)


def _live_params(job) -> SafeString:
    threads = (job.params or {}).get("thread_count")
    if threads is None:
        threads = len((job.params or {}).get("threads") or [])
    listed = format_html(", with {} from the thread list", count(threads, "thread")) if threads else \
        SafeString(", without a thread list (the Assistants API cannot list threads)")
    return format_html("Import every assistant of {}{}.", _connection_link(job), listed)


def _test_params(job) -> SafeString:
    return format_html("Probe which OpenAI APIs {} answers (models, assistants, responses, conversations).",
                       _connection_link(job))


register_report("inventory.import_archive", params=_archive_params, template="inventory/_import_report.html")
register_report("inventory.import_connection", params=_live_params, template="inventory/_import_report.html")
register_report("inventory.test_connection", params=_test_params, template="inventory/_connection_report.html")


def _export_params(job) -> SafeString:
    threads = (job.params or {}).get("thread_count") or 0
    listed = format_html(" and {} from the thread list", count(threads, "thread")) if threads else \
        SafeString(" (no thread list: the Assistants API cannot list threads)")
    return format_html("Export every assistant of {}{} into a gzipped JSON Lines archive.", _connection_link(job),
                       listed)


register_report("inventory.export_archive", params=_export_params, template="inventory/_export_report.html")
