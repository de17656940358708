"""Seeding: ``empty`` (models only) or ``demo`` (the Northwind organisation, identical on every run)."""

from __future__ import annotations

import random
from typing import Any

from . import objects, seed_data
from .catalog import stable_id
from .files import add_file, add_vector_store
from .store import Store

BASE_TIME = 1_735_689_600  # 2025-01-01T00:00:00Z
THREADS = 320
RNG_SEED = 20250101


def ensure(store: Store, name: str, *, reset: bool) -> None:
    """Seed ``store`` unless it already holds a seed; ``reset`` wipes it first.  One transaction, so
    concurrent server processes never seed twice."""
    with store.tx():
        if reset:
            store.wipe()
        if store.get_meta("seed") is None:
            if name == "demo":
                populate_demo(store)
            store.set_meta("seed", name)


def asst_id(key: str) -> str:
    """Id of a demo assistant by its key (see ``seed_data.ASSISTANTS``), e.g. ``asst_id("billing")``."""
    return stable_id("asst_", key)


def thread_id(n: int) -> str:
    """Id of demo thread number ``n`` (0 to THREADS - 1)."""
    return stable_id("thread_", f"thread-{n:03d}")


def populate_demo(store: Store) -> None:
    t = BASE_TIME
    file_ids: dict[str, str] = {}
    for filename, text in {**seed_data.DOCS, **seed_data.CSV}.items():
        file_ids[filename] = add_file(store, filename, text.encode(), "assistants",
                                      file_id=stable_id("file-", filename, 22), created=t)["id"]
        t += 60
    chart = add_file(store, "revenue-chart.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "assistants",
                     file_id=stable_id("file-", "revenue-chart.png", 22), created=t)
    photo = add_file(store, "damaged-parcel.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64, "vision",
                     file_id=stable_id("file-", "damaged-parcel.jpg", 22), created=t)
    stores = {}
    for key, names in seed_data.STORES.items():
        stores[key] = add_vector_store(store, f"Northwind {key}", [file_ids[n] for n in names],
                                       vs_id=stable_id("vs_", key), created=t)["id"]
    assistants = []
    for spec in seed_data.ASSISTANTS:
        t += 3600
        body = {k: v for k, v in spec.items() if k not in ("key", "weight", "topic", "vector_store", "code_files")}
        resources: dict[str, Any] = {}
        if spec.get("vector_store"):
            resources["file_search"] = {"vector_store_ids": [stores[spec["vector_store"]]]}
        if spec.get("code_files"):
            resources["code_interpreter"] = {"file_ids": [file_ids[f] for f in spec["code_files"]]}
        body["tool_resources"] = resources
        asst = objects.assistant(asst_id(spec["key"]), t, body)
        store.insert("assistant", asst)
        assistants.append((spec, asst))
    rng = random.Random(RNG_SEED)
    weights = [spec["weight"] for spec, _ in assistants]
    ctx = {"files": file_ids, "chart": chart["id"], "photo": photo["id"]}
    for n in range(THREADS):
        t += 1800
        spec, asst = assistants[n] if n < len(assistants) else rng.choices(assistants, weights)[0]
        t = _thread(store, rng, n, spec, asst, t, ctx)


def _thread(store: Store, rng: random.Random, n: int, spec: dict[str, Any], asst: dict[str, Any], t: int,
            ctx: dict[str, Any]) -> int:
    key = f"thread-{n:03d}"
    size = 60 if n % 50 == 7 else rng.choice([1, 2, 2, 4, 4, 6, 8, 10, 12, 16, 20, 30, 45])
    tid = thread_id(n)
    store.insert("thread", objects.thread(tid, t, {"channel": rng.choice(["web", "email", "app"]),
                                                         "customer": f"cus_{1000 + n}"}, None))
    questions = seed_data.QUESTIONS.get(spec["topic"], seed_data.QUESTIONS["general"])
    messages: list[dict[str, Any]] = []
    last_status = rng.choices(["completed", "failed", "expired", "cancelled"], [90, 4, 3, 3])[0]
    for i in range(size):
        t += rng.randint(20, 400)
        mid = stable_id("msg_", f"{key}:{i}")
        if i % 2 == 0:
            text = rng.choice(questions).format(n=10000 + rng.randint(0, 89999))
            if i == 0 and n % 9 == 4:
                text = f"My name is {rng.choice(['Ada', 'Bo', 'Chen', 'Dara'])}. " + text
            content = [objects.text_part(text)]
            attachments = None
            if n % 11 == 3 and i == 0:
                content.append({"type": "image_url", "image_url": {"url": f"https://example.com/photos/{n}.jpg",
                                                                   "detail": "auto"}})
            if n % 13 == 5 and i == 0:
                content.append({"type": "image_file", "image_file": {"file_id": ctx["photo"], "detail": "low"}})
            if spec["topic"] == "data" and i == 0:
                attachments = [{"file_id": ctx["files"]["sales-2025.csv"], "tools": [{"type": "code_interpreter"}]}]
            elif spec["topic"] == "docs" and n % 4 == 0 and i == 0:
                attachments = [{"file_id": ctx["files"]["warranty.md"], "tools": [{"type": "file_search"}]}]
            messages.append(objects.message(mid, tid, t, "user", content, attachments=attachments))
            continue
        run_id = stable_id("run_", f"{key}:{i}")
        final = i >= size - 2 and last_status != "completed"
        run = objects.run(run_id, tid, asst, t - 5, {})
        run.update({"status": last_status if final else "completed", "started_at": t - 4, "expires_at": t + 595})
        steps = []
        if spec["topic"] in ("billing", "support", "ops") and asst["tools"] and rng.random() < 0.5:
            fn = rng.choice([x for x in asst["tools"] if x["type"] == "function"] or [None])
            if fn:
                call = {"id": stable_id("call_", f"{key}:{i}"), "type": "function",
                        "function": {"name": fn["function"]["name"], "arguments": '{"id": "demo"}',
                                     "output": '{"ok": true}'}}
                steps.append(objects.step(run, t - 3, {"type": "tool_calls", "tool_calls": [call]},
                                          usage=objects.usage(120, 20), step_id=stable_id("step_", f"{key}:{i}:t")))
        if final and last_status != "completed":
            stamp = {"failed": "failed_at", "cancelled": "cancelled_at"}.get(last_status)
            if stamp:
                run[stamp] = t
            if last_status == "failed":
                run["last_error"] = {"code": "rate_limit_exceeded", "message": "Rate limit reached."}
            run["usage"] = objects.usage(0, 0)
            store.insert("run", run, parent=tid)
            store.insert_many("run_step", steps, parent=run_id)
            break
        value, annotations = rng.choice(seed_data.ANSWERS), []
        content: list[dict[str, Any]] = []
        if spec["topic"] == "docs":
            marker = "【4:0†source】"
            value = f"Unused items can be returned within 30 days{marker}."
            annotations = [{"type": "file_citation", "text": marker, "start_index": value.index(marker),
                            "end_index": value.index(marker) + len(marker),
                            "file_citation": {"file_id": ctx["files"]["returns-policy.md"]}}]
        elif spec["topic"] == "data" and i == 1:
            link = "sandbox:/mnt/data/revenue-chart.png"
            value = f"Average monthly revenue is 1,941 EUR. [Download the chart]({link})"
            annotations = [{"type": "file_path", "text": link, "start_index": value.index(link),
                            "end_index": value.index(link) + len(link), "file_path": {"file_id": ctx["chart"]}}]
            content.append({"type": "image_file", "image_file": {"file_id": ctx["chart"]}})
        content.insert(0, objects.text_part(value, annotations))
        messages.append(objects.message(mid, tid, t, "assistant", content, assistant_id=asst["id"],
                                        run_id=run_id))
        run.update(completed_at=t, usage=objects.usage(40 * i + 50, 30))
        steps.append(objects.step(run, t, {"type": "message_creation", "message_creation": {"message_id": mid}},
                                  usage=objects.usage(40 * i + 50, 30), step_id=stable_id("step_", f"{key}:{i}:m")))
        store.insert("run", run, parent=tid)
        store.insert_many("run_step", steps, parent=run_id)
    store.insert_many("message", messages, parent=tid)
    return t
