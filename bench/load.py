"""Load test: 50 logged-in staff sessions for 60 s over a realistic page mix, against gunicorn with 3 workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/migrator_scale python bench/load.py
    python bench/load.py --sessions 20 --seconds 20 --assistants 1000      # quicker, SQLite scratch file

Grows the configured database to ``--assistants`` (default 10,000; ``tests/scale_data.py``), creates one staff
account per session, starts ``gunicorn migrator.wsgi`` with 3 sync workers and DEBUG off (as the Dockerfile
does) on a free local port, logs every session in through the real login form, then lets each session click
through the mix below with a think time between clicks (people read pages; ``--think 0`` hammers instead).
Prints requests, errors, throughput and latency percentiles overall and per page kind. Goals: 0 errors,
p95 < 250 ms, p99 < 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

PASSWORD = "load-test-password-123"
PK = 987654321  # stands for an assistant id in the URL templates

# (kind, weight): what staff do most (assistant lists and an assistant's tabs), then the rest.
MIX = (
    ("dashboard", 12), ("assistants", 14), ("assistants search", 6), ("assistants page", 6),
    ("assistants filter", 5), ("assistant overview", 10), ("assistant usage", 6), ("assistant prompt", 6),
    ("assistant tools", 4), ("assistant flows", 4), ("flows", 6), ("flow page", 6), ("usage", 4),
    ("models", 3), ("jobs", 3), ("audit", 3), ("tokens", 2),
)
TERMS = ("refund", "invoice", "asst_scale00012", "gpt-4o", "shipping", "warranty", "team", "Parcel assistant 7")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pick_url(rng: random.Random, kind: str, ids: dict) -> str:
    """A URL of ``kind``; paths come from the URL conf (``ids["urls"]``), so moved pages are followed."""
    urls = ids["urls"]
    assistant = rng.choice(ids["assistants"])
    return {
        "dashboard": urls["dashboard"],
        "assistants": urls["assistants"],
        "assistants search": f"{urls['assistants']}?q={rng.choice(TERMS)}",
        "assistants page": f"{urls['assistants']}?page={rng.randint(2, max(2, ids['n'] // 25))}",
        "assistants filter": urls["assistants"] + rng.choice(("?status=migrated", "?model_state=retiring",
                                                              "?priority=critical&sort=-activity", "?sort=priority")),
        "assistant overview": urls["assistant overview"].replace(str(PK), str(assistant)),
        "assistant usage": urls["assistant usage"].replace(str(PK), str(assistant)),
        "assistant prompt": urls["assistant prompt"].replace(str(PK), str(assistant)),
        "assistant tools": urls["assistant tools"].replace(str(PK), str(assistant)),
        "assistant flows": urls["assistant flows"].replace(str(PK), str(assistant)),
        "flows": urls["flows"] + rng.choice(("", "?status=planning", f"?page={rng.randint(1, 40)}")),
        "flow page": urls["flow page"].replace("SLUG", rng.choice(ids["flows"])),
        "usage": f"{urls['usage']}?page={rng.randint(1, 5)}",
        "models": urls["models"],
        "jobs": urls["jobs"],
        "audit": urls["audit"],
        "tokens": urls["tokens"],
    }[kind]


async def login(client, username: str) -> None:
    page = await client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = await client.post("/login/", data={"username": username, "password": PASSWORD,
                                                  "csrfmiddlewaretoken": token}, headers={"Referer": str(page.url)},
                                 timeout=120.0)
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} answered {response.status_code}")


async def session(client, ids: dict, deadline: float, think: tuple[float, float], seed: int, results: list) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    await asyncio.sleep(rng.uniform(0, think[1]))  # people do not all click at the same instant
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        url = pick_url(rng, kind, ids)
        started = time.perf_counter()
        try:
            response = await client.get(url)
            status = response.status_code
        except Exception as exc:  # a refused or reset connection is an error, not a crash of the bench
            status = f"{type(exc).__name__}"
        results.append((kind, url, status, (time.perf_counter() - started) * 1000))
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] if ordered else 0.0


def prepare(n: int, sessions: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from migrator.core.models import Flow
    from tests.scale_data import grow_to

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    added = grow_to(n)
    if added.get("assistants") and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    User = get_user_model()
    for i in range(sessions):
        user, created = User.objects.get_or_create(username=f"load{i:02d}",
                                                   defaults={"is_staff": True, "is_superuser": True})
        if created:  # hashing a password costs ~0.5 s of CPU: only for new accounts
            user.set_password(PASSWORD)
            user.save()
    from django.urls import reverse

    from migrator.core.models import Assistant

    urls = {
        "dashboard": reverse("core:dashboard"), "assistants": reverse("core:assistant_list"),
        "assistant overview": reverse("core:assistant_detail", args=[PK]),
        "assistant usage": reverse("inventory:assistant_usage", args=[PK]),
        "assistant prompt": reverse("prompts:assistant_prompt", args=[PK]),
        "assistant tools": reverse("tools:assistant_tools", args=[PK]),
        "assistant flows": reverse("flows:assistant_flows", args=[PK]),
        "flows": reverse("flows:list"), "flow page": reverse("flows:detail", args=["SLUG"]),
        "usage": reverse("inventory:usage"), "models": reverse("inventory:model_radar"),
        "jobs": reverse("core:job_list"), "audit": reverse("core:audit_log"), "tokens": reverse("flows:token_list"),
    }
    return {
        "urls": urls,
        "n": n,
        "assistants": list(Assistant.objects.filter(legacy_id__startswith="asst_scale").order_by("pk")
                           .values_list("pk", flat=True)[:n:max(1, n // 500)]),
        "flows": list(Flow.objects.order_by("pk").values_list("slug", flat=True)[:500]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assistants", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--think", default="1,4", help="seconds between a session's clicks, min,max (0 = none)")
    args = parser.parse_args()
    think = tuple(float(x) for x in args.think.split(",")) if args.think != "0" else (0.0, 0.0)

    from pages import setup_django  # bench/pages.py: the same production-like settings

    setup_django()
    env = dict(os.environ)
    ids = prepare(args.assistants, args.sessions)
    from django.db import connection

    vendor = connection.vendor
    connection.close()

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="migrator-gunicorn-", suffix=".log")[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "migrator.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"{base}/login/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            print(f"gunicorn did not answer; its log: {log}", file=sys.stderr)
            return 2
        results: list = []

        wall = 0.0

        async def run() -> None:
            nonlocal wall
            clients = [httpx.AsyncClient(base_url=base, timeout=30.0) for _ in range(args.sessions)]
            # Log every session in first, a few at a time (each login hashes a password for ~0.5 s of CPU),
            # so the measured minute is browsing, not a login storm.
            gate = asyncio.Semaphore(args.workers)

            async def sign_in(client, i: int) -> None:
                async with gate:
                    await login(client, f"load{i:02d}")

            await asyncio.gather(*(sign_in(c, i) for i, c in enumerate(clients)))
            started = time.monotonic()
            deadline = started + args.seconds
            await asyncio.gather(*(session(c, ids, deadline, think, i, results) for i, c in enumerate(clients)))
            wall = time.monotonic() - started
            for client in clients:
                await client.aclose()

        asyncio.run(run())
    finally:
        server.terminate()
        server.wait(timeout=30)

    times = [r[3] for r in results]
    # Anything but a 200 is an error here: a redirect would mean the page was not what was measured.
    errors = [r for r in results if r[2] != 200]
    print(f"{args.sessions} sessions × {args.seconds:.0f}s against gunicorn ({args.workers} workers) on {vendor}, "
          f"{args.assistants:,} assistants, think time {think[0]:g}–{think[1]:g}s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"requests {len(results):,} in {wall:.1f}s ({len(results) / wall:.1f}/s), errors {len(errors)}")
    print(f"latency: median {statistics.median(times):.0f} ms, p95 {pct(times, .95):.0f} ms, "
          f"p99 {pct(times, .99):.0f} ms, max {max(times):.0f} ms")
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, _url, _status, ms in results:
        by_kind[kind].append(ms)
    print(f"\n{'page kind':22} {'n':>6} {'median':>8} {'p95':>8} {'p99':>8}")
    for kind, values in sorted(by_kind.items(), key=lambda kv: -pct(kv[1], .95)):
        print(f"{kind:22} {len(values):6d} {statistics.median(values):6.0f}ms {pct(values, .95):6.0f}ms "
              f"{pct(values, .99):6.0f}ms")
    for kind, url, status, _ms in errors[:10]:
        print(f"error: {kind} {url} → {status}")
    ok = not errors and pct(times, .95) < 250 and pct(times, .99) < 500
    print("\n" + ("goals met: 0 errors, p95 < 250 ms, p99 < 500 ms" if ok else "goals missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
