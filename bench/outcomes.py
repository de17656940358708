"""Outcome ingest: outcomes/s from 8 clients through gunicorn, exact counts after, page latency meanwhile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mig_h24 python bench/outcomes.py
    python bench/outcomes.py --seconds 10 --batch 200          # SQLite scratch file

Sets up a flow ramping a candidate with a guard (so each ingest also triggers a guard evaluation, as in
production), starts gunicorn (DEBUG off), measures the cutover page and the inbox idle, then lets ``--clients``
concurrent clients POST batches of ``--batch`` outcomes to ``/api/v1/flows/<slug>/outcomes`` for ``--seconds``
(``--rate``: paced to that total; every 20th batch is sent twice, as a client retrying after a lost answer does) while a further client keeps
loading the pages. Prints outcomes/s, batch latency, page p50/p95 idle and under ingest, and checks that the
per-minute aggregates and the raw rows hold exactly the outcomes accepted, none twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def bodies(count: int, batch: int) -> list[bytes]:
    """Pre-serialised batches (the client's CPU is not what is measured); ``BATCHID`` is replaced per send."""
    rng = random.Random(1)
    out = []
    for _ in range(count):
        rows = []
        for _ in range(batch):
            role = "candidate" if rng.random() < 0.1 else "production"
            error = rng.random() < 0.02
            rows.append({"release": "cand0000" if role == "candidate" else "prod0000", "role": role,
                         "at": time.time(), "model": "gpt-5.4-mini", "latency_ms": rng.lognormvariate(6, 0.4),
                         "ttft_ms": rng.lognormvariate(5, 0.4), "error": "APIStatusError:500" if error else None,
                         "output_types": ["message"], "tool_calls": ["get_order"] if rng.random() < 0.3 else [],
                         "schema_valid": rng.random() > 0.01, "refusal": False, "input_tokens": 200,
                         "output_tokens": 60})
        out.append(json.dumps({"batch_id": "BATCHID", "outcomes": rows}).encode())
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


async def ingest(base: str, path: str, token: str, payloads: list[bytes], clients: int, seconds: float,
                 batch: int, pages: list[str], cookie: dict, rate: float = 0) -> dict:
    import httpx

    stats = {"accepted": 0, "duplicates": 0, "batches": 0, "failed": 0, "batch_ms": [], "page_ms": []}
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def client(k: int) -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60.0) as http:
            i = 0
            gap = clients * batch / rate if rate else 0.0  # each client's share of a paced total rate
            next_at = time.monotonic() + gap * k / clients
            while time.monotonic() < deadline:
                if gap:
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                    next_at += gap
                batch_id = uuid.uuid4().hex.encode()
                body = payloads[(k + i) % len(payloads)].replace(b"BATCHID", batch_id)
                for attempt in range(2 if i % 20 == 0 else 1):  # a retry with the same id
                    started = time.perf_counter()
                    response = await http.post(path, content=body)
                    stats["batch_ms"].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        stats["failed"] += 1
                        continue
                    answer = response.json()
                    stats["accepted"] += answer["accepted"]
                    stats["duplicates"] += answer["duplicate"]
                    stats["batches"] += attempt == 0
                i += 1

    async def reader() -> None:
        async with httpx.AsyncClient(base_url=base, cookies=cookie, timeout=60.0) as http:
            while time.monotonic() < deadline:
                for page in pages:
                    started = time.perf_counter()
                    response = await http.get(page)
                    assert response.status_code == 200, (page, response.status_code)
                    stats["page_ms"].append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client(k) for k in range(clients)), *([reader()] if pages else []))
    return stats


async def warm(base: str, pages: list[str], cookie: dict, path: str, token: str, body: bytes, n: int) -> int:
    """Outcomes accepted while warming (they count in the totals checked at the end)."""
    import httpx

    async with httpx.AsyncClient(base_url=base, cookies=cookie, timeout=300.0) as http:
        answers = await asyncio.gather(*(http.get(pages[i % len(pages)]) for i in range(n)), *(http.post(
            path, content=body.replace(b"BATCHID", uuid.uuid4().hex.encode()),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}) for _ in range(n)))
    return sum(a.json()["accepted"] for a in answers[n:])


async def idle_pages(base: str, pages: list[str], cookie: dict, rounds: int) -> list[float]:
    import httpx

    times = []
    async with httpx.AsyncClient(base_url=base, cookies=cookie, timeout=60.0) as http:
        for _ in range(rounds):
            for page in pages:
                started = time.perf_counter()
                response = await http.get(page)
                assert response.status_code == 200, (page, response.status_code)
                times.append((time.perf_counter() - started) * 1000)
    return times


def cpu_of(pids) -> dict[int, float]:
    """User + system CPU seconds of each live process in ``pids`` (/proc/<pid>/stat, all its threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def web_pids(master: int) -> list[int]:
    """gunicorn's master and its workers."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def db_pids() -> list[int]:
    """The PostgreSQL backends connected to the bench's database, but this one ([] on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return [pid for (pid,) in cursor.fetchall()]


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two samples (a process that appeared meanwhile counts whole; one that ended, not)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0,
                        help="pace the clients to this many outcomes/s in total (0: as fast as they can)")
    parser.add_argument("--threads", type=int, default=4,
                        help="gunicorn threads per worker, so a page never queues behind a batch being ingested")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        os.environ["MIGRATOR_DATA_DIR"] = tempfile.mkdtemp(prefix="migrator-outcomes-")
    os.environ.setdefault("MIGRATOR_BROKER", "filesystem")

    from pages import setup_django

    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum
    from django.test import Client

    from migrator.core.actors import system
    from migrator.cutover.models import FlowRollout
    from migrator.cutover.services.releases import ensure_release, spec_for
    from migrator.flows.services import tokens
    from migrator.prompts.models import PromptVersion
    from migrator.rollouts.models import Outcome, OutcomeBatch, OutcomeMinute
    from migrator.rollouts.services import guard
    from tests.factories import AssistantFactory, FlowFactory

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    slug = f"bench-outcomes-{uuid.uuid4().hex[:6]}"
    assistant = AssistantFactory(legacy_id=f"asst_{slug}")
    v1 = PromptVersion.objects.create(assistant=assistant, number=1, config={"model": "gpt-5.4-mini"})
    v2 = PromptVersion.objects.create(assistant=assistant, number=2, config={"model": "gpt-5.4"})
    flow = FlowFactory(assistant=assistant, slug=slug, name="Bench outcomes", mode="stateless")
    actor = system("command:bench_outcomes", "the outcomes benchmark")
    r1, r2 = (ensure_release(flow=flow, version=v, spec=spec_for(flow, v), actor=actor, origin="bench")
              for v in (v1, v2))
    FlowRollout.objects.create(flow=flow, production=v1, candidate=v2, production_release=r1, candidate_release=r2,
                               percent=10)
    guard.set_guard(flow_id=flow.pk, actor=actor, min_sample=10_000_000, max_error_rate_increase=0.5,
                    action="pause")  # evaluated on every ingest; never fires here
    _token, secret = tokens.create_token(actor=actor, name="bench outcomes", consumer="bench")
    user = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
        f"bench-{uuid.uuid4().hex[:6]}", password=uuid.uuid4().hex)
    session = Client()
    session.force_login(user)
    cookie = {settings.SESSION_COOKIE_NAME: session.cookies[settings.SESSION_COOKIE_NAME].value}
    vendor = connection.vendor
    connection.close()

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = Path(tempfile.mkstemp(prefix="migrator-outcomes-gunicorn-", suffix=".log")[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "migrator.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads), "--log-level", "warning"],
        cwd=REPO, env=dict(os.environ), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    base, path = f"http://127.0.0.1:{port}", f"/api/v1/flows/{slug}/outcomes"
    pages = [f"/cutover/flows/{slug}/", "/cutover/"]
    payloads = bodies(16, args.batch)
    try:
        import httpx

        for _ in range(300):
            try:
                # A worker's first request imports and builds what it needs (seconds of CPU, minutes on a
                # machine loaded 15 deep): wait for it rather than fail.
                httpx.get(base + "/api/v1/openapi.json", timeout=httpx.Timeout(300.0, connect=2.0))
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        else:
            print(f"gunicorn did not answer; its log: {log}", file=sys.stderr)
            return 2
        # Warm every worker (and thread) on the pages and the ingest path before measuring anything: a cold
        # worker's first page is seconds slower and would inflate the idle figure the ratio is taken against.
        warmed = asyncio.run(warm(base, pages, cookie, path, secret, payloads[0], args.workers * args.threads * 2))
        web = web_pids(server.pid)
        idle_cpu = cpu_of(web)
        idle = asyncio.run(idle_pages(base, pages, cookie, 15))
        page_cpu = spent(idle_cpu, cpu_of(web)) / len(idle)
        load_before = os.getloadavg()
        db_before, web_before = cpu_of(db_pids()), cpu_of(web)
        started = time.monotonic()
        stats = asyncio.run(ingest(base, path, secret, payloads, args.clients, args.seconds, args.batch, pages,
                                   cookie, args.rate))
        wall = time.monotonic() - started
        web_cpu, db_cpu = spent(web_before, cpu_of(web)), spent(db_before, cpu_of(db_pids()))
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
    minutes = OutcomeMinute.objects.filter(flow=flow).aggregate(n=Sum("n"))["n"] or 0
    raw = Outcome.objects.filter(flow=flow).count()
    batches = OutcomeBatch.objects.filter(flow=flow).aggregate(n=Sum("count"))["n"] or 0
    print(f"outcome ingest on {vendor}, gunicorn {args.workers}×{args.threads} threads, {args.clients} clients × "
          f"{args.seconds:g}s, batches of {args.batch}{f', paced to {args.rate:g}/s' if args.rate else ''}:")
    print(f"  {stats['accepted'] / wall:8.0f} outcomes/s   {stats['batches']} batches "
          f"({stats['duplicates']} retried duplicates answered without counting, {stats['failed']} failed)   "
          f"batch median {statistics.median(stats['batch_ms']):.0f} ms, p95 {pct(stats['batch_ms'], .95):.0f} ms")
    print(f"  pages {', '.join(pages)}: idle p50 {pct(idle, .5):.1f} ms p95 {pct(idle, .95):.1f} ms; during ingest "
          f"p50 {pct(stats['page_ms'], .5):.1f} ms p95 {pct(stats['page_ms'], .95):.1f} ms "
          f"({len(stats['page_ms'])} loads, p95 ratio {pct(stats['page_ms'], .95) / pct(idle, .95):.2f}×)")
    ingest_cpu = web_cpu - page_cpu * len(stats["page_ms"])
    per_k = 1000 / stats["accepted"] if stats["accepted"] else float("nan")
    print(f"  CPU: web process {web_cpu:.2f} s during ingest ({ingest_cpu * per_k * 1000:.0f} ms per 1,000 "
          f"outcomes after the pages served meanwhile, at {page_cpu * 1000:.0f} ms a page idle); database backends "
          f"{db_cpu:.2f} s ({db_cpu * per_k * 1000:.0f} ms per 1,000; backends alive at the end only)")
    print(f"  load average {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f} at the start of "
          f"ingest, {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} at its end")
    exact = minutes == raw == batches == stats["accepted"] + warmed
    print(f"  counted: per-minute aggregates {minutes:,}, raw rows {raw:,}, batch rows {batches:,}, accepted "
          f"{stats['accepted']:,} + {warmed:,} while warming up — {'exact' if exact else 'MISMATCH'}")
    return 0 if exact and not stats["failed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
