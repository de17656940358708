"""Benchmark the backfill against the sandbox over HTTP with real Celery workers; prints numbers (not a test).

    python bench/backfill.py                       # 2,000 threads of ~20 items, sandbox --rpm 1200, 1 and 2 workers
    python bench/backfill.py --threads 300 --workers 1     # quicker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_backfill python bench/backfill.py

Prints, per section:
- faults: 200 threads of 16 to 80 items against a sandbox losing 10% of write answers and answering 5% 429s: committed writes
  per thread (acknowledged + found on read-back, plus possible orphans) against ceil(items / 20) + 1, and
  duplicates (items compared with the plan in the sandbox's own state);
- rate: for each worker count, the achieved request rate against the sandbox's --rpm, the share of calls
  answered 429, duplicates, and the peak resident memory of the worker processes (at 200 and at the full
  thread count, to show it is flat in the number of threads).

Needs Redis (the shared budget and the broker): REDIS_URL (default redis://127.0.0.1:6379/0). Uses a
throw-away SQLite database unless DATABASE_URL names one (it must be empty: it is migrated and filled).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

T0 = 1_735_689_600
WORDS = ["order", "invoice", "refund", "parcel", "delivery", "account", "warranty", "return", "label", "payment"]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate(path: Path, *, threads: int, prefix: str, flow: str, seed: int, turns: tuple[int, int] = (6, 7)) -> int:
    """Threads of ``turns`` exchanges (6-7: 16 or 20 items), every third answer after a recorded function call."""
    rng = random.Random(seed)
    items = 0
    with path.open("w", encoding="utf-8") as out:
        def write(obj: dict) -> None:
            out.write(json.dumps(obj, separators=(",", ":")) + "\n")

        write({"object": "migrator.archive", "format_version": 1})
        write({"id": "asst_bench000001", "object": "assistant", "created_at": T0, "name": "Bench", "model": "gpt-4o",
               "instructions": "Bench.", "tools": [], "tool_resources": {}, "metadata": {}})
        for t in range(threads):
            tid = f"thread_{prefix}{t:07d}"
            created = T0 + 86_400 + t * 60
            write({"object": "migrator.thread_info", "thread_id": tid, "flow": flow, "end_user_id": f"cus_{t}"})
            write({"id": tid, "object": "thread", "created_at": created, "metadata": {}, "tool_resources": {}})
            for i in range(rng.randint(*turns)):
                run_id = f"run_{prefix}{t:07d}_{i}"
                write({"id": f"msg_{prefix}{t:07d}_{2 * i:03d}", "object": "thread.message", "thread_id": tid,
                       "created_at": created + 20 * i, "role": "user", "status": "completed", "run_id": None,
                       "content": [{"type": "text", "text": {"value": _text(rng, 12), "annotations": []}}],
                       "attachments": [], "metadata": {}, "assistant_id": None})
                write({"id": f"msg_{prefix}{t:07d}_{2 * i + 1:03d}", "object": "thread.message", "thread_id": tid,
                       "created_at": created + 20 * i + 5, "role": "assistant", "status": "completed",
                       "run_id": run_id, "assistant_id": "asst_bench000001", "attachments": [], "metadata": {},
                       "content": [{"type": "text", "text": {"value": _text(rng, 30), "annotations": []}}]})
                write({"id": run_id, "object": "thread.run", "created_at": created + 20 * i + 1, "thread_id": tid,
                       "assistant_id": "asst_bench000001", "status": "completed", "model": "gpt-4o"})
                items += 2
                if i % 3 == 0:
                    write({"id": f"step_{prefix}{t:07d}_{i}", "object": "thread.run.step", "run_id": run_id,
                           "thread_id": tid, "created_at": created + 20 * i + 2, "type": "tool_calls",
                           "status": "completed", "step_details": {"type": "tool_calls", "tool_calls": [
                               {"id": f"call_{prefix}{t:07d}_{i}", "type": "function",
                                "function": {"name": "get_invoice", "arguments": "{}", "output": '{"ok": true}'}}]}})
                    items += 2
    return items


def peak_rss_mb(pid: int) -> float:
    """The highest peak RSS (VmHWM) among the worker's processes (main + prefork children)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            pids += [int(c) for c in (task / "children").read_text().split()]
    best = 0.0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) / 1024)
        except OSError:
            pass
    return best


def start_workers(n: int, queue: str, env: dict[str, str], logdir: Path) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        log = (logdir / f"worker-{queue}-{i}.log").open("w")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "migrator", "worker", "-Q", queue, "-c", "1", "--pool", "prefork",
             "-n", f"{queue}-{i}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            cwd=REPO, env={**env, "CELERY_QUEUE": queue}, stdout=log, stderr=subprocess.STDOUT))
    # The run's rate is measured from its start: wait until every worker is ready (its first heartbeat), or a
    # loaded machine's worker start-up (a minute or more at a load of 20) is counted as backfill time.
    from django.utils import timezone

    from migrator.core.models import WorkerHeartbeat

    since, deadline = timezone.now(), time.monotonic() + 600
    while WorkerHeartbeat.objects.filter(hostname__startswith=f"{queue}-", last_seen__gte=since).count() < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit(f"the bench's {n} worker(s) did not start; see {logdir}")
        time.sleep(0.5)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def duplicates(state: Path, rows) -> tuple[int, int]:
    """(threads whose conversation is not exactly the plan, duplicate items) read from the sandbox's state."""
    from migrator.backfill.mapping import fingerprint

    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=30)
    bad = dup = 0
    for row in rows:
        held = [json.loads(d) for (d,) in db.execute(
            "SELECT data FROM obj WHERE kind='conv_item' AND parent=? ORDER BY seq", (row.conversation_id,))]
        got = [fingerprint(i) for i in held]
        want = [fingerprint(i) for i in row.plan_items]
        if got != want:
            bad += 1
            dup += max(len(got) - len(want), 0)
    return bad, dup


def where_time_went(run, rows, n_workers: int, n_lanes: int) -> str:
    """Where a run's wall time went: waiting for the first chunk, gaps between a worker's chunk jobs, lanes idle
    while a chunk drains its last threads, and the rate budget's waits."""
    from migrator.core.models import Job

    jobs = list(Job.objects.filter(kind="backfill.chunk", subject_id=str(run.pk)).exclude(started_at=None)
                .order_by("started_at").values("worker_host", "worker_pid", "started_at", "finished_at", "params"))
    wall = run.active_seconds
    if not jobs or not wall:
        return "  (no chunk jobs)"
    first = (jobs[0]["started_at"] - run.started_at).total_seconds() if run.started_at else 0.0
    tail = (run.finished_at - max(j["finished_at"] for j in jobs)).total_seconds() if run.finished_at else 0.0
    by_worker: dict[tuple, list] = {}
    for job in jobs:
        by_worker.setdefault((job["worker_host"], job["worker_pid"]), []).append(job)
    gaps = sum((b["started_at"] - a["finished_at"]).total_seconds()
               for js in by_worker.values() for a, b in itertools.pairwise(js))
    finished = {r.pk: r.finished_at for r in rows if r.finished_at}
    drain = 0.0  # lane-seconds idle at the end of each chunk (fewer threads left than lanes)
    for job in jobs:
        ends = sorted(finished[i] for i in job["params"]["row_ids"] if i in finished)
        if len(ends) > n_lanes:
            cut = ends[-n_lanes:]
            drain += sum((job["finished_at"] - t).total_seconds() for t in cut)
    lane_seconds = n_workers * n_lanes * wall
    return (f"  where the time went ({n_workers} × {n_lanes} lanes × {wall:.0f}s = {lane_seconds:.0f} lane-s): "
            f"first chunk started {first:.1f}s after the run; {len(jobs)} chunk jobs, mean "
            f"{sum((j['finished_at'] - j['started_at']).total_seconds() for j in jobs) / len(jobs):.1f}s; gaps between "
            f"a worker's chunk jobs {gaps:.1f}s ({100 * gaps * n_lanes / lane_seconds:.1f}% of lane-s); lanes idle "
            f"while chunks drain {drain:.0f} lane-s ({100 * drain / lane_seconds:.1f}%); budget waits "
            f"{run.waited_seconds:.0f} lane-s ({100 * run.waited_seconds / lane_seconds:.1f}%); after the last chunk "
            f"{tail:.1f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2000)
    parser.add_argument("--small", type=int, default=200, help="the smaller run (memory comparison)")
    parser.add_argument("--rpm", type=int, default=1200)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    parser.add_argument("--fault-threads", type=int, default=200, help="0 skips the faults section")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="migrator-bench-backfill-"))
    os.environ.setdefault("DEBUG", "false")
    # Production settings, but the bench's sandbox answers on loopback, which the outbound policy refuses there.
    os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
    os.environ.setdefault("MIGRATOR_RECEIPT_KEY", "bench-only-receipt-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("MIGRATOR_ENCRYPTION_KEY", "bench-only-encryption-passphrase")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["MIGRATOR_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "migrator.settings"
    os.environ["MIGRATOR_BROKER"] = "redis"
    os.environ["CELERY_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from migrator.backfill.models import (
        BackfillRun,
        ConnectionRateLimit,
        RunStatus,
        ThreadBackfill,
        ThreadStatus,
    )
    from migrator.backfill.services.runs import create_run, lanes, run_inline, start_run
    from migrator.backfill.services.selection import Selection
    from migrator.celery import redis_answers
    from migrator.core.actors import system
    from migrator.core.services.connections import save_connection
    from migrator.inventory.models import LegacyThread
    from migrator.inventory.services.imports import import_archive
    from migrator.sandbox.launcher import start_sandbox

    if not redis_answers(settings.REDIS_URL):
        print(f"Redis does not answer at {settings.REDIS_URL}; the bench needs it.", file=sys.stderr)
        return 2
    call_command("migrate", verbosity=0)
    if LegacyThread.objects.exists():
        print("The database already holds threads: point DATABASE_URL at an empty scratch database.", file=sys.stderr)
        return 2
    actor = system("bench", "backfill bench")

    def load(n: int, prefix: str, flow: str, turns: tuple[int, int] = (6, 7)) -> int:
        path = workdir / f"{prefix}.jsonl"
        items = generate(path, threads=n, prefix=prefix, flow=flow, seed=n, turns=turns)
        report = import_archive(path=path, actor=actor)
        assert report.ok, report.to_dict()["errors"][:3]
        return items

    from django.db import connection as db

    def server_connections() -> int | None:
        """Connections to this database on the PostgreSQL server (pg_stat_activity); None on SQLite."""
        if db.vendor != "postgresql":
            return None
        with db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return int(cursor.fetchone()[0])

    # --- faults: lost answers and 429s, committed writes per thread -----------------------------------------
    if args.fault_threads:
        state = workdir / "faults.sqlite3"
        with start_sandbox(state_path=state, seed="empty", lost_rate=0.10, throttle_rate=0.05, seed_random=7) as box:
            items = load(args.fault_threads, "flt", "faults", turns=(6, 30))  # 16 to 80 items: creates and appends
            conn = save_connection(actor=actor, name="faults", base_url=box.base_url, api_key=box.api_key)
            run = run_inline(actor=actor, run=create_run(actor=actor, connection=conn, selection=Selection(flow="faults")))
            rows = list(ThreadBackfill.objects.filter(run=run))
            over = [r for r in rows if r.writes + r.orphans > math.ceil(r.item_count / 20) + 1]
            ratio = max((r.writes + r.orphans) / (math.ceil(r.item_count / 20) + 1) for r in rows)
            bad, dup = duplicates(state, rows)
            done = sum(1 for r in rows if r.status == ThreadStatus.DONE)
            print(f"faults (10% lost answers, 5% 429s), {len(rows)} threads, {items} items: {done} done; "
                  f"committed writes per thread (acknowledged + found on read-back) = ceil(items/20) for "
                  f"{sum(1 for r in rows if r.writes == math.ceil(r.item_count / 20))}/{len(rows)}; "
                  f"with possible orphans counted as committed, max {ratio:.2f}× the bound ceil(items/20)+1, "
                  f"{len(over)} thread(s) over it (each with ≥ 2 lost creates); "
                  f"{run.orphans} possible orphans, {run.recoveries} read-backs, {run.rate_limited} 429s; "
                  f"threads not exactly the plan: {bad}, duplicate items: {dup}")

    # --- rate: --rpm with 1 and 2 workers ------------------------------------------------------------------
    env = {k: v for k, v in os.environ.items()}
    for n_workers in [int(w) for w in args.workers.split(",") if w]:
        for size in (args.small, args.threads):
            state = workdir / f"rate-{n_workers}-{size}.sqlite3"
            flow = f"rate-{n_workers}-{size}"
            with start_sandbox(state_path=state, seed="empty", rpm=args.rpm) as box:
                items = load(size, f"r{n_workers}s{size}x", flow)
                conn = save_connection(actor=actor, name=flow, base_url=box.base_url, api_key=box.api_key)
                ConnectionRateLimit.objects.create(connection=conn, rpm=args.rpm)
                queue = f"bench-{uuid.uuid4().hex[:8]}"
                settings.CELERY_QUEUE = queue
                from migrator.celery import app

                app.conf.task_default_queue = queue
                procs = start_workers(n_workers, queue, env, workdir)
                try:
                    run = start_run(actor=actor, run=create_run(actor=actor, connection=conn,
                                                                selection=Selection(flow=flow)))
                    peak = 0.0
                    held: list[int] = []  # server connections to this database, sampled every second
                    while BackfillRun.objects.get(pk=run.pk).status == RunStatus.RUNNING:
                        peak = max([peak, *[peak_rss_mb(p.pid) for p in procs]])
                        if (count := server_connections()) is not None:
                            held.append(count)
                        time.sleep(1)
                    peak = max([peak, *[peak_rss_mb(p.pid) for p in procs]])
                finally:
                    stop(procs)
                run.refresh_from_db()
                rows = list(ThreadBackfill.objects.filter(run=run))
                print(where_time_went(run, rows, n_workers, lanes()))
                bad, dup = duplicates(state, rows)
                rate = run.calls / run.active_seconds * 60 if run.active_seconds else 0
                done = sum(1 for r in rows if r.status == ThreadStatus.DONE)
                print(f"rate, {n_workers} worker(s), {size} threads ({items} items): {done} done in "
                      f"{run.active_seconds:.0f}s; {run.calls} calls = {rate:.0f}/min = {100 * rate / args.rpm:.1f}% "
                      f"of --rpm {args.rpm}; 429s {run.rate_limited} ({100 * run.rate_limited / max(run.calls, 1):.2f}%"
                      f" of calls); threads not exactly the plan {bad}, duplicates {dup}; peak worker RSS "
                      f"{peak:.0f} MB" + (f"; PostgreSQL connections during the run: max {max(held)}, median "
                                           f"{sorted(held)[len(held) // 2]} (this process holds 1; "
                                           f"{n_workers} worker(s) × {lanes()} lanes = {n_workers * lanes()})"
                                           if held else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
