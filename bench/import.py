"""Benchmark the archive import: generate a large archive, import it, print wall time, rows/s and peak memory;
then import a smaller archive twice more, with the importer and with the naive per-row loader
(``bench/naive_import.py``), into the same emptied database, and print how many times faster the importer is.

    python bench/import.py                      # 10,000 assistants, 20,000 threads, 400,000 messages on SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scratch python bench/import.py
    python bench/import.py --assistants 100 --threads 200 --messages 4000 --reimport   # a quick run
    python bench/import.py --compare-messages 400000 ...    # the naive loader on the full size too (slow)

Without DATABASE_URL it uses a throw-away SQLite file. With DATABASE_URL it migrates that database and refuses
to run unless it holds no assistants yet (use a scratch database: the comparison empties it with ``flush``).
Goals on PostgreSQL: the full archive in under 40 s and 250 MB; the importer ≥ 10× the naive loader.
Generation (streamed to a temporary gzipped JSON Lines file) is not timed. Peak memory is the process's
maximum resident set size (``ru_maxrss``), which includes Python, Django and the database driver; the large
import runs first, so the peak printed after it is its own.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

T0 = 1_735_689_600
WORDS = ["order", "invoice", "refund", "parcel", "delivery", "account", "password", "warranty", "return", "label", "shipping", "customer", "address", "payment", "card", "subscription", "plan", "upgrade", "discount", "coupon", "tracking", "warehouse", "stock"]
MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-3.5-turbo", "gpt-4-turbo", "gpt-5.5", "o3-mini")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate(path: Path, *, assistants: int, threads: int, messages: int, runs_per_thread: int, seed: int) -> dict:
    """Write the archive; returns the counts of objects written."""
    rng = random.Random(seed)
    per_thread = max(1, messages // threads)
    counts = {"assistant": 0, "thread": 0, "message": 0, "run": 0, "step": 0}
    # Zipf-like traffic: a few assistants carry most threads, as in real estates.
    weights = [1 / (i + 1) ** 1.1 for i in range(assistants)]
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        def write(obj: dict) -> None:
            out.write(json.dumps(obj, separators=(",", ":")) + "\n")

        write({"object": "migrator.archive", "format": "migrator.assistants-archive", "format_version": 1})
        for i in range(assistants):
            tools = [{"type": "function", "function": {"name": f"tool_{i % 50}", "parameters": {
                "type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}}}]
            if i % 3 == 0:
                tools.append({"type": "file_search"})
            write({"id": f"asst_bench{i:06d}", "object": "assistant", "created_at": T0 + i, "name": f"Bench {i}",
                   "description": None, "model": MODELS[i % len(MODELS)],
                   "instructions": _text(rng, 60 + i % 200), "tools": tools, "tool_resources": {},
                   "metadata": {"team": f"team-{i % 20}"}, "temperature": 1.0, "top_p": 1.0,
                   "response_format": "auto", "reasoning_effort": None})
            counts["assistant"] += 1
        owners = rng.choices(range(assistants), weights=weights, k=threads)
        for t in range(threads):
            tid = f"thread_bench{t:07d}"
            aid = f"asst_bench{owners[t]:06d}"
            created = T0 + 86_400 + t * 60
            write({"id": tid, "object": "thread", "created_at": created, "metadata": {"channel": "web"},
                   "tool_resources": {}})
            write({"object": "migrator.thread_info", "thread_id": tid, "flow": f"flow-{owners[t] % 30}",
                   "end_user_id": f"cus_{t % 5000}", "tags": ["bench"]})
            counts["thread"] += 1
            run_ids = [f"run_bench{t:07d}_{r}" for r in range(runs_per_thread)]
            for m in range(per_thread):
                role = "user" if m % 2 == 0 else "assistant"
                run_id = run_ids[(m // 2) % len(run_ids)] if role == "assistant" and run_ids else None
                write({"id": f"msg_bench{t:07d}_{m:03d}", "object": "thread.message", "created_at": created + m * 7,
                       "thread_id": tid, "status": "completed", "role": role,
                       "content": [{"type": "text", "text": {"value": _text(rng, 8 + m % 40), "annotations": []}}],
                       "assistant_id": aid if role == "assistant" else None, "run_id": run_id,
                       "attachments": [], "metadata": {}})
                counts["message"] += 1
            for r, run_id in enumerate(run_ids):
                write({"id": run_id, "object": "thread.run", "created_at": created + r, "thread_id": tid,
                       "assistant_id": aid, "status": "completed", "model": MODELS[owners[t] % len(MODELS)],
                       "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}})
                write({"id": f"step_{run_id[4:]}", "object": "thread.run.step", "created_at": created + r + 1,
                       "run_id": run_id, "thread_id": tid, "assistant_id": aid, "type": "tool_calls",
                       "status": "completed", "step_details": {"type": "tool_calls", "tool_calls": [
                           {"id": f"call_{run_id[4:]}", "type": "function",
                            "function": {"name": f"tool_{owners[t] % 50}", "arguments": "{}", "output": "{}"}}]}})
                counts["run"] += 1
                counts["step"] += 1
    return counts


def _cpu() -> tuple[float, float]:
    """CPU seconds used so far by this process and by its PostgreSQL backend (0 elsewhere): on a shared,
    loaded machine wall time mostly measures the neighbours, CPU time measures the import."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    backend = 0.0
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):  # another host, or no /proc: wall and Python CPU only
            backend = 0.0
    return usage.ru_utime + usage.ru_stime, backend


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assistants", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=400_000)
    parser.add_argument("--runs-per-thread", type=int, default=1)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--reimport", action="store_true", help="import the same archive again (all unchanged)")
    parser.add_argument("--keep", action="store_true", help="keep the archive and the SQLite file")
    parser.add_argument("--compare-assistants", type=int, default=1_000)
    parser.add_argument("--compare-threads", type=int, default=2_000)
    parser.add_argument("--compare-messages", type=int, default=40_000,
                        help="size of the side-by-side run against the naive loader (0: skip it)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="migrator-bench-"))
    # Production settings (DEBUG off), with throw-away secrets unless the environment provides real ones.
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

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from migrator.core.actors import system
    from migrator.core.models import Assistant
    from migrator.inventory.services.imports import import_archive

    call_command("migrate", verbosity=0)
    if Assistant.objects.exists():
        print("The database already holds assistants: point DATABASE_URL at an empty scratch database.",
              file=sys.stderr)
        return 2
    archive = workdir / "bench.jsonl.gz"
    started = time.perf_counter()
    counts = generate(archive, assistants=args.assistants, threads=args.threads, messages=args.messages,
                      runs_per_thread=args.runs_per_thread, seed=args.seed)
    print(f"generated {archive.stat().st_size / 1e6:.1f} MB gzipped in {time.perf_counter() - started:.1f}s: "
          + ", ".join(f"{n:,} {k}s" for k, n in counts.items()))
    rows = counts["assistant"] + counts["thread"] + counts["message"] + counts["run"]
    baseline = _peak_mb()
    runs = [("import", archive)] + ([("re-import", archive)] if args.reimport else [])
    for label, path in runs:
        cpu_before, db_before = _cpu()
        started = time.perf_counter()
        report = import_archive(path=path, actor=system("command:bench_import", "the import benchmark"))
        wall = time.perf_counter() - started
        cpu_after, db_after = _cpu()
        result = report.to_dict()
        print(f"{label} on {connection.vendor}: {wall:.1f}s wall, {rows / wall:,.0f} rows/s "
              f"({rows:,} rows), peak RSS {_peak_mb():.0f} MB (before import {baseline:.0f} MB); "
              f"CPU {cpu_after - cpu_before:.1f}s Python + {db_after - db_before:.1f}s database backend; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print("  " + "; ".join(f"{k}: {v}" for k, v in result.items() if k != "errors")
              + f"; errors: {len(result['errors'])}")
        if result["errors"]:
            print("  first error:", result["errors"][0])
    if not args.keep:
        archive.unlink(missing_ok=True)
    if args.compare_messages:
        compare(workdir, args, system("command:bench_import", "the import benchmark"))
    return 0


def compare(workdir: Path, args, actor) -> None:
    """The importer and the naive loader on one archive, each into the emptied database."""
    from django.core.management import call_command
    from django.db import connection
    from naive_import import naive_import

    from migrator.inventory.services.imports import import_archive

    archive = workdir / "compare.jsonl.gz"
    counts = generate(archive, assistants=args.compare_assistants, threads=args.compare_threads,
                      messages=args.compare_messages, runs_per_thread=args.runs_per_thread, seed=args.seed + 1)
    rows = counts["assistant"] + counts["thread"] + counts["message"] + counts["run"]
    print(f"\nside by side on {connection.vendor}, {rows:,} rows "
          f"({counts['assistant']:,} assistants, {counts['message']:,} messages):")
    timings = {}
    for label, load in (("importer", lambda: import_archive(path=archive, actor=actor)),
                        ("naive per-row loader", lambda: naive_import(archive))):
        call_command("flush", interactive=False, verbosity=0)
        cpu_before, db_before = _cpu()
        started = time.perf_counter()
        load()
        timings[label] = time.perf_counter() - started
        cpu_after, db_after = _cpu()
        print(f"  {label:22} {timings[label]:7.1f}s  {rows / timings[label]:9,.0f} rows/s   CPU "
              f"{cpu_after - cpu_before:.1f}s Python + {db_after - db_before:.1f}s database")
    print(f"  importer is {timings['naive per-row loader'] / timings['importer']:.1f}× the naive loader")
    archive.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
