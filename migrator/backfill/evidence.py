"""Cutover evidence from backfill: a flow whose mode keeps state on the server (a conversation) needs the
threads selected for it carried into Conversations, with none failed or still pending."""

from __future__ import annotations

from django.urls import reverse

from migrator.backfill.services import coverage
from migrator.core.evidence import Item, State, keeps_server_state, provider
from migrator.core.status import FlowMode

TITLE = "Backfill of the flow's threads"


@provider("backfill", title=TITLE, order=50)
def backfill_coverage(*, flow, version, config_hash: str) -> Item:
    if not keeps_server_state(flow.mode):
        mode = FlowMode(flow.mode).label if flow.mode in FlowMode.values else "no mode yet"
        return Item("backfill", TITLE, State.NOT_REQUIRED,
                    f"{mode}: old threads are not read from Conversations, so nothing needs backfilling.")
    url = reverse("backfill:new") + f"?scope=flow&flow={flow.slug}"
    cov = coverage(flow)
    details = dict(cov)
    if cov["threads"] == 0:
        return Item("backfill", TITLE, State.NOT_REQUIRED, "No imported thread belongs to this flow.", url=url,
                    details=details)
    if cov["selected"] == 0:
        return Item("backfill", TITLE, State.MISSING,
                    f"None of the flow's {cov['threads']:,} imported threads has been backfilled yet: select the ones "
                    "that matter and run a backfill.", url=url, details=details)
    if cov["failed"] or cov["pending"]:
        return Item("backfill", TITLE, State.FAILED,
                    f"{cov['failed']:,} failed and {cov['pending']:,} still pending of {cov['selected']:,} selected "
                    "threads: finish or roll them back.", url=url, details=details)
    return Item("backfill", TITLE, State.PASSED,
                f"{cov['done']:,} of {cov['selected']:,} selected threads are in Conversations"
                + (f" ({cov['skipped']:,} skipped with a reason)" if cov["skipped"] else "")
                + f"; {cov['threads']:,} threads belong to the flow.", url=url, details=details)
