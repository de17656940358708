"""``GET /_sandbox/demo-thread-ids``: the sandbox's thread list as CSV (``thread_id,flow,end_user_id,tags``).

The Assistants API cannot list threads, so a real team keeps its own list of thread ids; this private
endpoint plays that part for the sandbox so a live import of the demo organisation can be driven over HTTP.
Flow is ``<assistant key>-<channel>`` (e.g. ``billing-web``) when a run names a demo assistant, the end-user
id is the thread's ``customer`` metadata, and the tag is its ``channel``.
"""

from __future__ import annotations

import csv
import io

from starlette.responses import Response

from .catalog import stable_id
from .seed_data import ASSISTANTS
from .store import Store

_KEYS = {stable_id("asst_", spec["key"]): spec["key"] for spec in ASSISTANTS}


def thread_list_csv(store: Store) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["thread_id", "flow", "end_user_id", "tags"])
    for thread in store.all("thread"):
        metadata = thread.get("metadata") or {}
        channel = str(metadata.get("channel") or "")
        runs = store.all("run", parent=thread["id"])
        key = _KEYS.get(runs[0].get("assistant_id")) if runs else None
        flow = f"{key}-{channel}" if key and channel else (key or "")
        writer.writerow([thread["id"], flow, str(metadata.get("customer") or ""), channel])
    return out.getvalue()


def response(store: Store, headers: dict[str, str]) -> Response:
    return Response(thread_list_csv(store), media_type="text/csv", headers=headers)
