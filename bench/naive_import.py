"""The baseline for ``bench/import.py``: the loader anyone would write first, one ORM ``create()`` per row.

It reads and checks the archive exactly like the real importer (same reader, same ``validate.clean_*``), then
writes each object on its own: a lookup for its parent, a ``create()`` (or a ``save()`` for a run step), each
in its own autocommit. The figures at the end use the real set-based services, so the two loaders differ
only in how rows get in. Not used by the application; kept here as the yardstick the issue asks for.
"""

from __future__ import annotations

from migrator.core.models import Assistant
from migrator.inventory.archive import validate as v
from migrator.inventory.archive.reader import ArchiveReader, Record
from migrator.inventory.models import LegacyMessage, LegacyRun, LegacyThread
from migrator.inventory.services import drift, stats, usage

ASSISTANT_FIELDS = ("name", "description", "model", "instructions", "tools", "tool_resources", "response_format",
                    "temperature", "top_p", "reasoning_effort", "metadata", "raw", "legacy_created_at")
MESSAGE_FIELDS = ("role", "content", "text", "attachments", "metadata", "run_legacy_id", "assistant_legacy_id",
                  "created_at_legacy", "extra")
RUN_FIELDS = ("assistant_legacy_id", "status", "model", "usage", "steps", "tool_calls", "created_at_legacy", "raw")


def naive_import(path) -> dict[str, int]:
    counts = {"assistants": 0, "threads": 0, "messages": 0, "runs": 0, "steps": 0, "rejected": 0}
    threads: dict[str, LegacyThread] = {}
    positions: dict[int, int] = {}

    def thread_for(legacy_id: str) -> LegacyThread:
        thread = threads.get(legacy_id)
        if thread is None:
            thread, _ = LegacyThread.objects.get_or_create(legacy_id=legacy_id, defaults={"is_stub": True})
            threads[legacy_id] = thread
        return thread

    for item in ArchiveReader(path):
        if not isinstance(item, Record):
            continue
        try:
            handle(item, counts, thread_for, positions)
        except v.Rejected:
            counts["rejected"] += 1
    touched = list(LegacyThread.objects.values_list("pk", flat=True))
    stats.refresh_threads(touched)
    usage.recompute_usage()
    return counts


def handle(item: Record, counts: dict, thread_for, positions: dict[int, int]) -> None:
    obj = item.obj
    if item.kind == "assistant":
        c = v.clean_assistant(obj)
        Assistant.objects.create(legacy_id=c["legacy_id"], definition_hash=drift.definition_hash(drift.definition_of(c)),
                                 **{f: c[f] for f in ASSISTANT_FIELDS})
        counts["assistants"] += 1
    elif item.kind == "thread":
        c = v.clean_thread(obj)
        thread = thread_for(c["legacy_id"])
        for f in ("metadata", "tool_resources", "created_at_legacy", "raw"):
            setattr(thread, f, c[f])
        thread.is_stub = False
        thread.save()
        counts["threads"] += 1
    elif item.kind == "thread_info":
        c = v.clean_thread_info(obj)
        thread = thread_for(c["thread_legacy_id"])
        thread.flow_slug, thread.end_user_id, thread.tags = c["flow_slug"], c["end_user_id"], c["tags"]
        if c["assistant_legacy_id"]:
            thread.assistant_legacy_id, thread.assistant_from_list = c["assistant_legacy_id"], True
        thread.save()
    elif item.kind == "message":
        c = v.clean_message(obj, thread_hint=item.thread_hint)
        thread = thread_for(c["thread_legacy_id"])
        position = positions.get(thread.pk, 0)
        positions[thread.pk] = position + 1
        LegacyMessage.objects.create(thread=thread, legacy_id=c["legacy_id"], position=position,
                                     **{f: c[f] for f in MESSAGE_FIELDS})
        counts["messages"] += 1
    elif item.kind == "run":
        c = v.clean_run(obj, thread_hint=item.thread_hint)
        LegacyRun.objects.create(thread=thread_for(c["thread_legacy_id"]), legacy_id=c["legacy_id"],
                                 **{f: c[f] for f in RUN_FIELDS})
        counts["runs"] += 1
    elif item.kind == "step":
        c = v.clean_step(obj, run_hint=item.run_hint, thread_hint=item.thread_hint)
        run = LegacyRun.objects.get(legacy_id=c["run_legacy_id"])
        run.steps = [*run.steps, c["raw"]]
        run.tool_calls = v.count_tool_calls(run.steps, run.raw)
        run.save(update_fields=["steps", "tool_calls"])
        counts["steps"] += 1
