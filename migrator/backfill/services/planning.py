"""From inventory rows to the pure mapping's input, and the plan of one thread."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migrator.backfill.mapping import (
    MalformedThread,
    MessageData,
    Options,
    Plan,
    RunData,
    ThreadData,
    plan_thread,
)
from migrator.inventory.models import LegacyFile, LegacyMessage, LegacyRun, LegacyThread


class NothingToCarry(Exception):
    """The thread holds nothing to send (no messages): it is skipped, with this reason."""


def options_from(raw: dict[str, Any] | None, *, marker: str = "") -> Options:
    raw = raw or {}
    return Options(markers=raw.get("markers") or "strip", hosted_tools=raw.get("hosted_tools") or "note",
                   marker=marker)


def _ts(value) -> float | None:
    return value.timestamp() if value else None


def thread_data(thread: LegacyThread) -> ThreadData:
    messages = [
        MessageData(legacy_id=m.legacy_id, position=m.position, role=m.role, content=m.content,
                    attachments=m.attachments, metadata=m.metadata, run_legacy_id=m.run_legacy_id,
                    created_at=_ts(m.created_at_legacy), extra=m.extra or {})
        for m in LegacyMessage.objects.filter(thread=thread).order_by("position", "id")
    ]
    runs = [RunData(legacy_id=r.legacy_id, status=r.status, steps=r.steps, created_at=_ts(r.created_at_legacy))
            for r in LegacyRun.objects.filter(thread=thread).order_by("created_at_legacy", "id")]
    return ThreadData(legacy_id=thread.legacy_id, messages=messages, runs=runs, flow_slug=thread.flow_slug,
                      end_user_id=thread.end_user_id, metadata=thread.metadata, tool_resources=thread.tool_resources,
                      is_stub=thread.is_stub)


def _file_ids(data: ThreadData) -> set[str]:
    ids: set[str] = set()
    for m in data.messages:
        for part in m.content if isinstance(m.content, list) else []:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), dict):
                for ann in part["text"].get("annotations") or []:
                    if isinstance(ann, dict):
                        ids.add(str((ann.get("file_citation") or ann.get("file_path") or {}).get("file_id") or ""))
        for att in m.attachments if isinstance(m.attachments, list) else []:
            if isinstance(att, dict) and att.get("file_id"):
                ids.add(str(att["file_id"]))
    ids.discard("")
    return ids


def filenames_for(ids: Iterable[str]) -> dict[str, str]:
    return dict(LegacyFile.objects.filter(legacy_id__in=list(ids)).exclude(filename="")
                .values_list("legacy_id", "filename"))


def plan_for(thread: LegacyThread, options: Options) -> Plan:
    """The plan of one thread; raises MalformedThread (with a clear reason) when it cannot be planned."""
    data = thread_data(thread)
    if not data.messages:
        if thread.is_stub:
            raise MalformedThread("half-imported: the thread object was never imported and none of its messages were")
        raise NothingToCarry("the thread has no messages")
    if thread.message_count and thread.message_count != len(data.messages):
        raise MalformedThread(f"half-imported: the inventory counted {thread.message_count} messages but holds "
                              f"{len(data.messages)}; re-import the thread")
    return plan_thread(data, options=options, filenames=filenames_for(_file_ids(data)))
