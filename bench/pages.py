"""Benchmark every page reachable from the sidebar plus the assistant tabs at 10, 1,000 and 10,000 assistants.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/migrator_scale python bench/pages.py
    python bench/pages.py --sizes 10,1000 --repeat 9          # SQLite scratch file, quicker

Loads the estate (threads, messages, flows, versions, jobs, audit events; ``tests/scale_data.py``) into the
configured database, growing it from one size to the next, and prints per page: median and p95 time, the
number of SQL queries and the HTML size, next to the Django admin changelist of the same rows where one exists.
Pages are rendered in-process by Django's test client with DEBUG off (no network, no gunicorn: that is
``bench/load.py``). Goals at 10k: every page ≤ 150 ms median and ≤ 0.8× the admin, query counts constant in N,
every page ≤ 300 KB. Refuses a database holding assistants that are not its own (use a scratch database).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOAL_MS, GOAL_RATIO, GOAL_KB = 150.0, 0.8, 300


def setup_django() -> None:
    os.environ.setdefault("DEBUG", "false")
    # Production settings, but the bench's sandbox answers on loopback, which the outbound policy refuses there.
    os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
    os.environ.setdefault("MIGRATOR_RECEIPT_KEY", "bench-only-receipt-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("MIGRATOR_ENCRYPTION_KEY", "bench-only-encryption-passphrase")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        os.environ.setdefault(name, "false")  # plain HTTP on localhost; production keeps them on
    if "DATABASE_URL" not in os.environ:
        workdir = Path(tempfile.mkdtemp(prefix="migrator-pages-"))
        os.environ["MIGRATOR_DATA_DIR"] = str(workdir)
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "migrator.settings"
    import django

    django.setup()


def measure(client, url: str, repeat: int) -> dict:
    from django.db import connection

    response = client.get(url)  # warm-up (template and URL caches)
    if response.status_code != 200:
        return {"status": response.status_code, "ms": [], "queries": 0, "kb": 0}
    captured: list[str] = []

    def count(execute, sql, params, many, context):
        captured.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):  # request_started resets connection.queries: count directly
        response = client.get(url)
    times = []
    cpu_started = cpu_seconds()
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    cpu = (cpu_seconds() - cpu_started) * 1000 / repeat
    return {"status": response.status_code, "ms": times, "queries": len(captured), "kb": len(response.content) / 1024,
            "cpu": cpu}


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def cpu_seconds() -> float:
    """CPU spent by this process plus, on a local PostgreSQL, by this connection's server process.

    The machine is shared: wall time swings with other people's load, CPU time far less. The server's share comes
    from /proc (clock ticks, so it is only meaningful summed over the repeats); it is 0 when the server is remote.
    """
    total = time.process_time()
    pid = _backend_pid()
    if pid:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="measure only pages whose label contains this")
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from migrator.core.models import Assistant
    from tests.scale_data import grow_to, page_urls, sample_ids, staff_user

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off serves the hashed manifest
    if Assistant.objects.exclude(legacy_id__startswith="asst_scale").exists():
        print("The database holds assistants of its own: point DATABASE_URL at a scratch database.", file=sys.stderr)
        return 2
    client = Client()
    client.force_login(staff_user())
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    summary: dict[str, dict[int, dict]] = {}
    failures: list[str] = []
    for n in sizes:
        started = time.perf_counter()
        added = grow_to(n)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # What autovacuum does after a bulk load: statistics, and the visibility map that lets the
                # lists' index-only scans skip the table.
                cursor.execute("VACUUM ANALYZE")
        print(f"\n== {n:,} assistants on {connection.vendor} (loaded {added.get('assistants', 0):,} more in "
              f"{time.perf_counter() - started:.1f}s) ==")
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cpu = mean CPU a request (this "
              f"process + its database server process), the ratio compares CPU where wall time is noisy")
        print(f"{'page':36} {'median':>8} {'p95':>8} {'cpu':>7} {'queries':>7} {'KB':>7}   {'admin med':>9} "
              f"{'admin cpu':>9} {'ratio':>6} {'cpu ratio':>9} {'admin q':>7}")
        for label, url, admin_url in page_urls(sample_ids()):
            if args.only and args.only not in label:
                continue
            ours = measure(client, url, args.repeat)
            if ours["status"] != 200:
                print(f"{label:36} HTTP {ours['status']} for {url}")
                failures.append(f"{n}: {label} answered {ours['status']}")
                continue
            med = statistics.median(ours["ms"])
            line = (f"{label:36} {med:7.1f}ms {p95(ours['ms']):7.1f}ms {ours['cpu']:5.1f}ms {ours['queries']:7d} "
                    f"{ours['kb']:7.1f}")
            ratio = None
            if admin_url:
                theirs = measure(client, admin_url, args.repeat)
                if theirs["status"] == 200:
                    admin_med = statistics.median(theirs["ms"])
                    ratio = med / admin_med if admin_med else None
                    cpu_ratio = ours["cpu"] / theirs["cpu"] if theirs["cpu"] else float("nan")
                    line += (f"   {admin_med:8.1f}ms {theirs['cpu']:7.1f}ms {ratio:5.2f}× {cpu_ratio:8.2f}× "
                             f"{theirs['queries']:7d}")
            print(line, flush=True)
            summary.setdefault(label, {})[n] = {"median": med, "queries": ours["queries"], "kb": ours["kb"],
                                                "ratio": ratio}
            if n >= 10_000:
                if med > GOAL_MS:
                    failures.append(f"{label}: median {med:.0f} ms > {GOAL_MS:.0f} ms")
                if ratio is not None and ratio > GOAL_RATIO:
                    failures.append(f"{label}: {ratio:.2f}× the admin > {GOAL_RATIO}×")
            if ours["kb"] > GOAL_KB:
                failures.append(f"{n}: {label}: {ours['kb']:.0f} KB > {GOAL_KB} KB")
    if len(sizes) > 1:
        print("\nquery counts by size (constant in N is the goal):")
        for label, by_size in summary.items():
            counts = [by_size[n]["queries"] for n in sizes if n in by_size]
            flag = "" if len(set(counts)) <= 1 else "   <- grows with N"
            if flag:
                failures.append(f"{label}: query count {counts} changes with N")
            print(f"  {label:36} " + " → ".join(str(c) for c in counts) + flag)
    print("\n" + ("all goals met" if not failures else "goals missed:\n  " + "\n  ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
