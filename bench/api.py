"""Config API throughput: requests per second for 200 and 304 answers with 8 clients, against gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/migrator_scale REDIS_URL=redis://127.0.0.1:6379/6 \\
        python bench/api.py
    python bench/api.py --seconds 5 --broker filesystem        # SQLite scratch file, spool-file counting

Loads a small estate if the database has none (``tests/scale_data.py``), issues an API token, starts gunicorn
with 3 workers (DEBUG off), and for each answer kind lets 8 concurrent clients call
``GET /api/v1/flows/<slug>/config`` for ``--seconds``: without ``If-None-Match`` (200) and with the current ETag
(304). Prints requests/s and latency percentiles, then the CPU per answer in-process beside a minimal Django
view reading one row and returning the same JSON (``bench/minimal_view.py``), as a ratio, then flushes the call counters and checks that the flow's
per-day rows grew by exactly the number of calls made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


async def hammer(base: str, path: str, headers: dict, clients: int, seconds: float) -> tuple[list[float], dict]:
    import httpx

    latencies: list[float] = []
    statuses: dict = {}
    deadline = time.monotonic() + seconds

    async def one() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60.0) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    status = (await client.get(path)).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--in-process-only", action="store_true",
                        help="skip gunicorn: only the CPU per answer beside the minimal view")
    parser.add_argument("--broker", choices=["auto", "redis", "filesystem"], default="auto")
    args = parser.parse_args()
    os.environ["MIGRATOR_BROKER"] = args.broker
    if "DATABASE_URL" not in os.environ:
        os.environ["MIGRATOR_DATA_DIR"] = tempfile.mkdtemp(prefix="migrator-api-")

    from pages import setup_django

    setup_django()
    from django.core.management import call_command

    from migrator.celery import broker_choice
    from migrator.core.actors import system
    from migrator.core.models import Flow
    from migrator.flows.models import FlowTrafficDay
    from migrator.flows.services import tokens, traffic
    from tests.scale_data import grow_to

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    grow_to(100)
    flow = Flow.objects.filter(slug="flow-0").select_related("assistant").first()
    if flow is None:
        print("flow-0 is missing: point DATABASE_URL at a database loaded by bench/pages.py or an empty one.",
              file=sys.stderr)
        return 2
    _token, secret = tokens.create_token(actor=system("command:bench_api", "the API benchmark"),
                                         name="bench api", consumer="bench")
    traffic.flush()
    before = sum(FlowTrafficDay.objects.filter(flow=flow).values_list("calls", flat=True))
    kind = broker_choice().kind
    from django.db import connection

    vendor = connection.vendor
    connection.close()

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if args.in_process_only:
        return in_process(flow, secret, made=0, before=before)
    log = Path(tempfile.mkstemp(prefix="migrator-api-gunicorn-", suffix=".log")[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "migrator.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "warning"],
        cwd=REPO, env=dict(os.environ), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    base, path = f"http://127.0.0.1:{port}", f"/api/v1/flows/{flow.slug}/config"
    auth = {"Authorization": f"Bearer {secret}"}
    made = 0
    try:
        import httpx

        for _ in range(300):
            try:
                # A long read timeout: a call the server answered after the client gave up would be counted
                # by the server but not here. Only refused connections (server not up yet) are retried.
                first = httpx.get(base + path, headers=auth, timeout=httpx.Timeout(60.0, connect=2.0))
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        else:
            print(f"gunicorn did not answer; its log: {log}", file=sys.stderr)
            return 2
        made += 1
        if first.status_code != 200:
            print(f"the flow answered {first.status_code}: {first.text[:300]}", file=sys.stderr)
            return 2
        print(f"config API on {vendor}, counting in {kind}, gunicorn {args.workers} workers, "
              f"{args.clients} clients × {args.seconds:g}s each:")
        for label, headers in (("200 (full body)", auth), ("304 (If-None-Match)", {**auth, "If-None-Match": first.headers["ETag"]})):
            started = time.monotonic()
            latencies, statuses = asyncio.run(hammer(base, path, headers, args.clients, args.seconds))
            wall = time.monotonic() - started
            made += len(latencies)
            ordered = sorted(latencies)
            print(f"  {label:20} {len(latencies) / wall:8.0f} req/s   median {statistics.median(ordered):5.1f} ms   "
                  f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:5.1f} ms   answers {statuses}")
    finally:
        server.terminate()
        server.wait(timeout=120)
    return in_process(flow, secret, made=made, before=before, etag=first.headers["ETag"], body=first.json())


def in_process(flow, secret: str, *, made: int, before: int, etag: str | None = None, body: dict | None = None) -> int:
    # Load-independent figure: CPU per answer in this process (Django test client, no network), which on a
    # shared machine says more than requests/s through gunicorn.
    import minimal_view
    from django.db import connection as conn
    from django.test import Client

    from migrator.flows.models import FlowTrafficDay
    from migrator.flows.services import traffic

    client = Client()
    path = f"/api/v1/flows/{flow.slug}/config"
    if etag is None:
        first = client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")
        made += 1
        etag, body = first["ETag"], first.json()
    from django.test import override_settings
    from django.urls import clear_url_caches

    minimal_view.BODY = body
    minimal_path = f"/bench/minimal/{flow.slug}/"

    from pages import cpu_seconds

    def cpu_per_answer(url: str, headers: dict, n: int) -> tuple[float, float]:
        """(CPU of this process, CPU of this process and its database server process) per answer, in ms."""
        started, started_all = time.process_time(), cpu_seconds()
        for _ in range(n):
            client.get(url, **headers)
        return 1000 * (time.process_time() - started) / n, 1000 * (cpu_seconds() - started_all) / n

    auth_header = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    with override_settings(ROOT_URLCONF="minimal_view"):
        clear_url_caches()
        floor_status = client.get(minimal_path).status_code
        if floor_status != 200:
            print(f"the minimal view answered {floor_status}", file=sys.stderr)
            return 2
        for label, extra in (("200", {}), ("304", {"HTTP_IF_NONE_MATCH": etag})):
            seen: list[str] = []

            def record(execute, sql, params, many, context, seen=seen):
                seen.append(sql)
                return execute(sql, params, many, context)

            with conn.execute_wrapper(record):
                client.get(path, **auth_header, **extra)
            made += 1
            # Interleaved rounds, ours then the floor, so a busy neighbour slows both alike; the median round
            # ratio is the figure (the goal: a 304 within 3x the floor, a 200 within 4x).
            ratios, ours_ms, floor_ms, all_ratios, ours_all, floor_all = [], [], [], [], [], []
            n = 100
            for _ in range(5):
                ours, ours_db = cpu_per_answer(path, {**auth_header, **extra}, n)
                made += n
                floor, floor_db = cpu_per_answer(minimal_path, {}, n)
                ours_ms.append(ours)
                floor_ms.append(floor)
                ratios.append(ours / floor)
                ours_all.append(ours_db)
                floor_all.append(floor_db)
                all_ratios.append(ours_db / floor_db)
            goal = 3.0 if label == "304" else 4.0
            ratio = statistics.median(ratios)
            print(f"  in-process {label}: {statistics.median(ours_ms):.2f} ms CPU per answer against "
                  f"{statistics.median(floor_ms):.2f} ms for a minimal view: {ratio:.2f}x (goal <= {goal:g}x, "
                  f"rounds {', '.join(f'{r:.2f}' for r in ratios)}), "
                  f"{len(seen)} queries ({sum(1 for q in seen if not q.lstrip().upper().startswith('SELECT'))} writes)")
            if conn.vendor == "postgresql":  # the server's CPU too: our one statement against the floor's one
                print(f"    with the database server's CPU: {statistics.median(ours_all):.2f} ms against "
                      f"{statistics.median(floor_all):.2f} ms: {statistics.median(all_ratios):.2f}x "
                      f"(rounds {', '.join(f'{r:.2f}' for r in all_ratios)}; load average "
                      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    clear_url_caches()
    traffic.flush()
    after = sum(FlowTrafficDay.objects.filter(flow=flow).values_list("calls", flat=True))
    counted = after - before
    verdict = "exact" if counted == made else f"MISMATCH (made {made:,})"
    print(f"counted after the flush: {counted:,} calls for {flow.slug} — {verdict}")
    return 0 if counted == made else 1


if __name__ == "__main__":
    raise SystemExit(main())
