"""Sentences for the backfill app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.safestring import SafeString

from migrator.core.activity import EventView, register, say


def _count(value) -> str:
    return f"{int(value or 0):,}"


@register("migrator.backfill.run_created")
def run_created(e: EventView) -> SafeString:
    return say("{actor} planned {obj}: {n} threads on the connection {conn}.", actor=e.actor, obj=e.obj,
               n=_count(e.data.get("threads")), conn=e.data.get("connection") or "—")


@register("migrator.backfill.run_started")
def run_started(e: EventView) -> SafeString:
    where = "in this process" if e.data.get("inline") else "on the workers"
    return say("{actor} started {obj} {where}.", actor=e.actor, obj=e.obj, where=where)


@register("migrator.backfill.run_resumed")
def run_resumed(e: EventView) -> SafeString:
    return say("{actor} resumed {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.backfill.run_auto_resumed")
def run_auto_resumed(e: EventView) -> SafeString:
    return say("{obj} resumed by itself: the worker of job #{dead} died; job #{new} carries its work (try {n}).",
               obj=e.obj, dead=e.data.get("dead_job") or "?", new=e.data.get("new_job") or "?", n=e.data.get("try") or 1)


@register("migrator.backfill.run_paused")
def run_paused(e: EventView) -> SafeString:
    return say("{actor} paused {obj}; threads in flight finish their batch.", actor=e.actor, obj=e.obj)


@register("migrator.backfill.run_cancelled")
def run_cancelled(e: EventView) -> SafeString:
    return say("{actor} cancelled {obj}; finished threads keep their conversations.", actor=e.actor, obj=e.obj)


@register("migrator.backfill.run_finished")
def run_finished(e: EventView) -> SafeString:
    threads = e.data.get("threads") or {}
    return say("{obj} finished: {done} threads done, {skipped} skipped, {failed} failed, {orphans} possible orphans.",
               obj=e.obj, done=_count(threads.get("done")), skipped=_count(threads.get("skipped")),
               failed=_count(threads.get("failed")), orphans=_count(e.data.get("orphans")))


@register("migrator.backfill.rollback_requested")
def rollback_requested(e: EventView) -> SafeString:
    return say("{actor} asked to roll back {obj}: its items and conversations are deleted.", actor=e.actor, obj=e.obj)


@register("migrator.backfill.thread_rolled_back")
def thread_rolled_back(e: EventView) -> SafeString:
    return say("{actor} rolled back {obj}: its conversation items were deleted.", actor=e.actor, obj=e.obj)


@register("migrator.backfill.budget_set")
def budget_set(e: EventView) -> SafeString:
    after = e.after or {}
    return say("{actor} set the rate budget of {obj} to {rpm} requests and {tpm} tokens a minute.", actor=e.actor,
               obj=e.obj, rpm=_count(after.get("rpm")), tpm=_count(after.get("tpm")))


@register("migrator.backfill.run_budget_reached")
def run_budget_reached(e: EventView) -> SafeString:
    return say("{actor} stopped {obj}: budget reached ({calls} API calls of a {budget}-call budget); the threads "
               "not carried stay pending for a resume.", actor=e.actor, obj=e.obj,
               calls=str(e.data.get("calls", "?")), budget=str(e.data.get("budget_calls", "?")))


@register("migrator.backfill.run_budget_set")
def run_budget_set(e: EventView) -> SafeString:
    after = e.data.get("after")
    return say("{actor} set the call budget of {obj} to {budget}.", actor=e.actor, obj=e.obj,
               budget=f"{after} API calls" if after else "none")
