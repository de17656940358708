"""Threads for backfill tests, imported into the inventory through the real archive importer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.backfill.mapping import fingerprint
from migrator.core.actors import SYSTEM
from migrator.core.models import Connection
from migrator.core.services.connections import save_connection
from migrator.inventory.services.imports import import_archive
from tests.inventory import archives as a

ASSISTANT = "asst_backfill01"


def thread_objects(tid: str, turns: int, *, flow: str = "billing-web", calls_every: int = 3,
                   end_user: str = "cus_1", tags: tuple[str, ...] = ("web",)) -> list[dict[str, Any]]:
    """A thread of ``turns`` exchanges; every ``calls_every``-th answer follows a recorded function call."""
    objs: list[dict[str, Any]] = [{"object": "migrator.thread_info", "thread_id": tid, "flow": flow,
                                   "end_user_id": end_user, "tags": list(tags)},
                                  a.thread(tid, metadata={"channel": "web"})]
    runs = []
    for i in range(turns):
        objs.append(a.message(tid, 2 * i, "user", f"question {i} of {tid}"))
        r = a.run(tid, i, ASSISTANT)
        if calls_every and i % calls_every == 0:
            call = {"id": f"call_{tid[-6:]}_{i}", "type": "function",
                    "function": {"name": "get_invoice", "arguments": f'{{"n": {i}}}', "output": f'{{"total": {i}}}'}}
            r["_steps"] = [a.tool_step(r, 1, call)]
        runs.append(r)
        objs.append(a.message(tid, 2 * i + 1, "assistant", f"answer {i}", assistant_id=ASSISTANT, run_id=r["id"]))
    for r in runs:
        steps = r.pop("_steps", [])
        objs.append(r)
        objs.extend(steps)
    return objs


def import_threads(tmp_path: Path, specs: list[tuple[str, int]], **kw: Any) -> None:
    objects: list[Any] = [a.assistant(ASSISTANT)]
    for tid, turns in specs:
        objects += thread_objects(tid, turns, **kw)
    report = import_archive(path=a.write_jsonl(tmp_path / "threads.jsonl", objects), actor=SYSTEM)
    assert report.ok, report.to_dict()["errors"][:3]


def connect(sandbox, name: str = "Target") -> Connection:
    return save_connection(actor=SYSTEM, name=name, base_url=sandbox.base_url, api_key=sandbox.api_key)


def conversation_items(sandbox, conversation_id: str) -> list[dict[str, Any]]:
    client = sandbox.client(max_retries=8)
    out: list[dict[str, Any]] = []
    after = None
    while True:
        kw: dict[str, Any] = {"order": "asc", "limit": 100}
        if after:
            kw["after"] = after
        page = client.conversations.items.list(conversation_id, **kw)
        out += [i.model_dump(mode="json", exclude_none=True) for i in page.data]
        if not page.has_more:
            return out
        after = out[-1]["id"]


def assert_exactly_the_plan(sandbox, row) -> None:
    """The conversation holds the plan's items once each, in order: no duplicate, no gap."""
    held = conversation_items(sandbox, row.conversation_id)
    assert [fingerprint(i) for i in held] == [fingerprint(i) for i in row.plan_items], row.thread.legacy_id
