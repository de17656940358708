"""Sentences for the validation app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.safestring import SafeString

from migrator.core.activity import EventView, register, say


@register("migrator.validation.testset_created")
def testset_created(e: EventView) -> SafeString:
    return say("{actor} built the test set {obj}: {cases} cases from {threads} threads ({strategy}).", actor=e.actor,
               obj=e.obj, cases=e.after.get("cases", "?"), threads=e.after.get("threads", "?"),
               strategy=str(e.after.get("strategy", "")).replace("_", " ") or "sampled")


@register("migrator.validation.cases_excluded")
def cases_excluded(e: EventView) -> SafeString:
    return say("{actor} excluded {n} case(s) from {obj} (version {v}): {reason}.", actor=e.actor, obj=e.obj,
               n=len(e.data.get("cases") or []), v=e.data.get("version", "?"), reason=e.data.get("reason") or "no reason")


@register("migrator.validation.cases_included")
def cases_included(e: EventView) -> SafeString:
    return say("{actor} included {n} case(s) in {obj} again (version {v}).", actor=e.actor, obj=e.obj,
               n=len(e.data.get("cases") or []), v=e.data.get("version", "?"))


@register("migrator.validation.case_added")
def case_added(e: EventView) -> SafeString:
    return say("{actor} added the hand-written case {case} to {obj} (version {v}).", actor=e.actor, obj=e.obj,
               case=e.data.get("case", "?"), v=e.data.get("version", "?"))


@register("migrator.validation.checks_changed")
def checks_changed(e: EventView) -> SafeString:
    return say("{actor} changed the check settings of {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.validation.testset_redrawn")
def testset_redrawn(e: EventView) -> SafeString:
    return say("{actor} drew the threads of {obj} again (version {v}): {added} new or changed case(s), {gone} gone.",
               actor=e.actor, obj=e.obj, v=e.data.get("version", "?"), added=e.data.get("added", 0),
               gone=e.data.get("gone", 0))


@register("migrator.validation.run_created")
def run_created(e: EventView) -> SafeString:
    return say("{actor} queued {obj} of {config} in {mode} mode.", actor=e.actor, obj=e.obj,
               config=e.data.get("config", "a configuration"), mode=e.data.get("mode", "?"))


@register("migrator.validation.run_cancel_requested")
def run_cancel_requested(e: EventView) -> SafeString:
    return say("{actor} asked to cancel {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.validation.run_*")
def run_finished(e: EventView) -> SafeString:
    verdict = e.verb.rsplit("_", 1)[-1]
    words = {"pass": "passed", "fail": "failed", "incomplete": "was incomplete"}.get(verdict, verdict)
    return say("{obj} {words}: {summary}", obj=e.obj, words=words, summary=e.data.get("summary") or "")


@register("migrator.validation.run_budget_reached")
def run_budget_reached(e: EventView) -> SafeString:
    return say("{actor} stopped {obj}: budget reached (spent ${spent} of ${budget} after {n} cases; results kept).",
               actor=e.actor, obj=e.obj, spent=f"{float(e.data.get('spent_usd') or 0):.4f}",
               budget=str(e.data.get("budget_usd", "?")), n=str(e.data.get("cases_done", "?")))


@register("migrator.validation.run_resumed")
def run_resumed(e: EventView) -> SafeString:
    return say("{obj} resumed by itself after its worker died (job #{new}, try {n}), attached to its batch in "
               "flight.", obj=e.obj, new=str(e.data.get("new_job", "?")), n=str(e.data.get("try", "?")))
