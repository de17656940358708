"""Sandbox throughput: requests per second with 8 concurrent clients, loopback only.

    python bench/sandbox.py [--requests 1200] [--seconds 20] [--clients 8] [--workers 0] [--mode both]

Starts its own sandbox (empty seed, temporary state) unless ``--base-url`` is given, then measures
``conversations.items.create`` with 20 items, ``responses.create`` and ``responses.create(stream=True)`` (read to
its last event), then the time to the first event and to the last of 50 sequential streams.  Bounded in count
and time.

Two kinds of client: ``http`` sends the same JSON bodies the SDK sends over keep-alive httpx connections
(this measures the sandbox), ``sdk`` calls the real ``openai`` SDK from 8 threads of one process.  The SDK's
own request transform costs ~7 ms of CPU for 20 items, so in one Python process the ``sdk`` numbers for
``items.create`` are bound by the client's GIL, not by the sandbox.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import openai

from migrator.sandbox.launcher import start_sandbox

ITEMS = [{"type": "message", "role": "user" if i % 2 == 0 else "assistant", "content": f"backfilled turn {i}"}
         for i in range(20)]


def measure(name: str, clients: list[Any], call: Callable[[Any, int], Any],
            total: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + seconds

    def worker(client: Any) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            t = time.perf_counter()
            try:
                call(client, n)
            except (openai.APIError, httpx.HTTPError):
                with lock:
                    errors += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done = len(latencies)
    lat = sorted(latencies) or [0.0]
    return {"name": name, "requests": done, "errors": errors, "seconds": round(elapsed, 2),
            "rps": round(done / elapsed, 1), "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p95_ms": round(lat[int(len(lat) * 0.95) - 1 if len(lat) > 1 else 0] * 1000, 1)}


def run_sdk(base_url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    clients = [openai.OpenAI(base_url=base_url, api_key=args.api_key, max_retries=0, timeout=30)
               for _ in range(args.clients)]
    conv = clients[0].conversations.create()
    for c in clients:  # open the connections
        c.models.list()
    return [
        measure("sdk  conversations.items.create (20)", clients,
                lambda c, n: c.conversations.items.create(conv.id, items=ITEMS), args.requests, args.seconds),
        measure("sdk  responses.create", clients,
                lambda c, n: c.responses.create(model="gpt-4o", input=f"Hello number {n}", instructions="Be brief."),
                args.requests, args.seconds),
        measure("sdk  responses.create stream", clients,
                lambda c, n: list(c.responses.create(model="gpt-4o", input=f"Hello number {n}",
                                                     instructions="Be brief.", stream=True)),
                args.requests, args.seconds),
    ]


def first_event(base_url: str, args: argparse.Namespace, count: int = 50) -> dict[str, Any]:
    """Sequential SDK streams: milliseconds to the first event and to the last (p50)."""
    client = openai.OpenAI(base_url=base_url, api_key=args.api_key, max_retries=0, timeout=30)
    firsts, lasts, events = [], [], 0
    for n in range(count):
        started = time.perf_counter()
        stream = client.responses.create(model="gpt-4o", input=f"Hello number {n}", instructions="Be brief.",
                                         stream=True)
        for i, _ in enumerate(stream):
            if i == 0:
                firsts.append(time.perf_counter() - started)
            events += 1
        lasts.append(time.perf_counter() - started)
    return {"streams": count, "events_per_stream": events // count,
            "first_event_p50_ms": round(statistics.median(firsts) * 1000, 2),
            "last_event_p50_ms": round(statistics.median(lasts) * 1000, 2)}


def run_http(base_url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {args.api_key}", "Content-Type": "application/json"}
    clients = [httpx.Client(base_url=base_url, headers=headers, timeout=30) for _ in range(args.clients)]
    conv = clients[0].post("/conversations", content=b"{}").json()["id"]
    items_body = json.dumps({"items": ITEMS}).encode()

    def post(client: httpx.Client, path: str, body: bytes) -> None:
        client.post(path, content=body).raise_for_status()

    for c in clients:
        c.get("/models").raise_for_status()
    return [
        measure("http conversations.items.create (20)", clients,
                lambda c, n: post(c, f"/conversations/{conv}/items", items_body), args.requests, args.seconds),
        measure("http responses.create", clients,
                lambda c, n: post(c, "/responses", json.dumps(
                    {"model": "gpt-4o", "input": f"Hello number {n}", "instructions": "Be brief."}).encode()),
                args.requests, args.seconds),
        measure("http responses.create stream", clients,
                lambda c, n: post(c, "/responses", json.dumps(
                    {"model": "gpt-4o", "input": f"Hello number {n}", "instructions": "Be brief.",
                     "stream": True}).encode()),
                args.requests, args.seconds),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1200, help="requests per call type (upper bound)")
    parser.add_argument("--seconds", type=float, default=20, help="time bound per call type")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="sandbox processes (0 = its default)")
    parser.add_argument("--mode", choices=("http", "sdk", "both"), default="both")
    parser.add_argument("--base-url", help="measure an already running sandbox instead")
    parser.add_argument("--api-key", default="sk-sandbox")
    args = parser.parse_args()

    sandbox = None
    base_url = args.base_url
    if base_url is None:
        state = Path(tempfile.mkdtemp(prefix="sandbox-bench-")) / "bench.sqlite3"
        sandbox = start_sandbox(state_path=state, seed="empty", workers=args.workers)
        base_url = sandbox.base_url
    results = []
    streaming = None
    try:
        if args.mode in ("http", "both"):
            results += run_http(base_url, args)
        if args.mode in ("sdk", "both"):
            results += run_sdk(base_url, args)
            streaming = first_event(base_url, args)
    finally:
        if sandbox is not None:
            sandbox.stop()
    print(f"sandbox bench: {args.clients} concurrent clients, {base_url}")
    for r in results:
        print(f"  {r['name']:<40} {r['rps']:>8} req/s  ({r['requests']} ok, {r['errors']} errors, "
              f"{r['seconds']} s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms)")
    if streaming:
        print(f"  sequential SDK streams: {streaming['streams']} × {streaming['events_per_stream']} events, first event "
              f"p50 {streaming['first_event_p50_ms']} ms, last event p50 {streaming['last_event_p50_ms']} ms")


if __name__ == "__main__":
    main()
