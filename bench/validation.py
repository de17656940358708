"""Benchmark validation runs: 500 cases replayed against the sandbox, 4 at a time, as a worker runs them.

    python bench/validation.py                    # 100 threads × 5 turns = 500 cases, concurrency 4
    python bench/validation.py --threads 20 --concurrency 2 --mode stateless

Transcripts are recorded through the sandbox's Assistants API and imported first (not timed); the prompt
version is the faithful conversion. The timed part is ``execute_run`` in this process, exactly what the Celery
job handler calls. Printed: cases per second, peak memory of the process (``ru_maxrss``: Python, Django, the
SDK and the thread pool), and migrator's own time per case (building and reading requests, matching recorded
tool outputs, scoring, saving results: the thread CPU time, so that two cores shared by many processes do not
inflate it) against the time spent waiting on the API. Target: < 10 ms per case.
Uses a throw-away SQLite database and its own sandbox (2 worker processes) on a free port.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TURNS = ["Hi, my name is {name}.", "use get_weather city: {city}", "remember that the code is {n}",
         "use get_forecast city: {city}", "what is my name?"]
NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Linus", "Margaret"]
CITIES = ["Paris", "Oslo", "Lima", "Pune", "Kyoto", "Accra", "Quito", "Turin"]
TOOLS = [{"type": "function", "function": {
    "name": name, "strict": True, "description": f"{name} for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}} for name in ("get_weather", "get_forecast")]


def record(client, assistant_id: str, index: int) -> str:
    thread = client.beta.threads.create()
    for template in TURNS:
        text = template.format(name=NAMES[index % len(NAMES)], city=CITIES[index % len(CITIES)], n=index)
        client.beta.threads.messages.create(thread.id, role="user", content=text)
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id,
                                                       poll_interval_ms=5)
        while run.status == "requires_action":
            outputs = [{"tool_call_id": c.id, "output": json.dumps({"city": CITIES[index % len(CITIES)], "temp": 20})}
                       for c in run.required_action.submit_tool_outputs.tool_calls]
            run = client.beta.threads.runs.submit_tool_outputs_and_poll(thread_id=thread.id, run_id=run.id,
                                                                         tool_outputs=outputs, poll_interval_ms=5)
    return thread.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=100, help="Threads of 5 turns each (cases = 5 × threads).")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--mode", default="conversation", choices=["stateless", "conversation", "previous_response"])
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-validation-"))
    os.environ.setdefault("DEBUG", "false")
    # Production settings, but the bench's sandbox answers on loopback, which the outbound policy refuses there.
    os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
    os.environ.setdefault("MIGRATOR_RECEIPT_KEY", "bench-only-receipt-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("MIGRATOR_ENCRYPTION_KEY", "bench-only-encryption-passphrase")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["MIGRATOR_DATA_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "migrator.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from migrator.core.actors import system
    from migrator.core.models import Assistant
    from migrator.core.services.connections import save_connection
    from migrator.inventory.services.imports import import_from_connection
    from migrator.prompts.services import generate_version
    from migrator.sandbox.launcher import start_sandbox
    from migrator.validation.services import runs, testsets

    call_command("migrate", verbosity=0)
    actor = system("bench:validation", "the validation benchmark")
    with start_sandbox(state_path=workdir / "sandbox.sqlite3", seed="empty") as sandbox:
        client = sandbox.client()
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            legacy = client.beta.assistants.create(model="gpt-4o", name="Bench weather", tools=TOOLS,
                                                   instructions="You help with the weather.")
            thread_ids = [record(client, legacy.id, i) for i in range(args.threads)]
        connection = save_connection(actor=actor, name="Sandbox", base_url=sandbox.base_url, api_key=sandbox.api_key,
                                     is_sandbox=True)
        import_from_connection(connection=connection, actor=actor, thread_ids=thread_ids)
        assistant = Assistant.objects.get(legacy_id=legacy.id)
        version = generate_version(assistant_id=assistant.pk, actor=actor)
        test_set = testsets.create_test_set(actor=actor, assistant_id=assistant.pk, name="bench",
                                            strategy="recent", sample_size=args.threads)
        setup = time.perf_counter() - started
        run = runs.create_run(actor=actor, test_set=test_set, connection=connection, config=dict(version.config),
                              config_label=f"v{version.number}", prompt_version=version, mode=args.mode,
                              concurrency=args.concurrency, source="bench")
        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            run = profile.runcall(runs.execute_run, run_id=run.pk, actor=actor)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        else:
            run = runs.execute_run(run_id=run.pk, actor=actor)
        wall = time.perf_counter() - started
    totals = run.totals
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cases = totals["results"]
    print(f"setup (record + import + convert, not timed): {setup:.1f} s")
    print(f"cases: {cases} in {args.mode} mode, concurrency {args.concurrency}; verdict {run.verdict} "
          f"({totals['cases_passed']} pass, {totals['cases_failed']} fail, {totals['cases_incomplete']} incomplete)")
    print(f"wall time: {wall:.1f} s (including {len(run.free_runs)} whole-thread free runs)")
    print(f"throughput: {cases / wall:.1f} cases/s")
    print(f"peak memory (ru_maxrss of this process): {peak_mb:.0f} MB")
    print(f"migrator's own CPU: {totals['overhead_ms_per_case']:.2f} ms/case - target < 10 ms/case: "
          f"{'met' if totals['overhead_ms_per_case'] < 10 else 'NOT met'}")
    print(f"waiting on the API (wall, SDK calls included): {totals['api_ms_per_case']:.1f} ms/case, of which the "
          f"SDK's own CPU {totals['sdk_cpu_ms_per_case']:.2f} ms/case; migrator's share of the time: "
          f"{100 * totals['overhead_share']:.1f}%")
    print(f"latency per case: p50 {totals['latency_p50_ms']} ms, p95 {totals['latency_p95_ms']} ms")


if __name__ == "__main__":
    main()
