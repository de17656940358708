"""Production simulator on migrator-client: N subjects hold multi-turn conversations against the sandbox while a
candidate ramps under a guard. Prints when the guard fired and how many requests the bad release served.

    python bench/simulator.py                                  # 2,000 subjects, candidate 10% with 20% errors
    python bench/simulator.py --error-rate 0 --runs 20         # a healthy candidate: never rolled back?
    python bench/simulator.py --latency-ms 800 --max-p95-ratio 1.5
    python bench/simulator.py --broken-json 0.3                # the candidate breaks its JSON contract
    python bench/simulator.py --stop-web-at 5 --stop-web-for 5 # migrator's web process down mid-run

Each run starts gunicorn from the checkout: do not change the code (or its migrations) while a series runs.

Set-up through the cutover services (see ``setup``): a flow serving v1 (gpt-4.1) with v2 (gpt-5.4) requested,
approved and ramped to ``--percent``, a guard (``--min-sample``, ``--max-error-rate-increase``, rollback,
optionally ``--auto-advance``), migrator under gunicorn
(guards evaluated on ingest, as in production) and the sandbox as OpenAI. Faults are the candidate's only:
errors are real sandbox 500s (``x-sandbox-fault``), latency is added before the call, broken JSON asks the
sandbox for plain text where the flow promises a JSON schema (the client's local check catches it).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "clients" / "python" / "src"))

CANDIDATE_MODEL = "gpt-5.4"
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
          "additionalProperties": False}


class FaultyResponses:
    """The OpenAI client's ``responses`` with the candidate's faults injected (the simulator's only stand-in)."""

    def __init__(self, real: Any, sim: Simulation) -> None:
        self.real = real
        self.sim = sim

    def create(self, **kwargs: Any) -> Any:
        if kwargs.get("model") == CANDIDATE_MODEL:
            with self.sim.lock:
                self.sim.candidate_total += 1
                self.sim.candidate_after_fault += self.sim.faulty()
        if kwargs.get("model") == CANDIDATE_MODEL and self.sim.faulty():
            rng = self.sim.rng()
            if self.sim.args.latency_ms:
                time.sleep(self.sim.args.latency_ms / 1000 * rng.uniform(0.8, 1.2))
            if rng.random() < self.sim.args.error_rate:
                kwargs["extra_headers"] = {**(kwargs.get("extra_headers") or {}), "x-sandbox-fault": "500"}
                with self.sim.lock:
                    self.sim.injected += 1
            elif rng.random() < self.sim.args.broken_json:
                kwargs["text"] = {"format": {"type": "text"}}
        return self.real.create(**kwargs)


class FaultyClient:
    def __init__(self, real: Any, sim: Simulation) -> None:
        self._real = real
        self.responses = FaultyResponses(real.responses, sim)
        self.conversations = real.conversations


class Simulation:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.fault_from = 0.0
        self.lock = threading.Lock()
        self.local = threading.local()
        self.served: dict[str, list[str]] = defaultdict(list)  # subject -> releases per turn
        self.switched: set[str] = set()
        self.failed: dict[str, int] = defaultdict(int)
        self.candidate_after_fault = 0  # candidate API calls, failed or not
        self.candidate_total = 0
        self.injected = 0
        self.requests = 0

    def faulty(self) -> bool:
        return time.monotonic() >= self.fault_from

    def rng(self) -> random.Random:
        if not hasattr(self.local, "rng"):
            self.local.rng = random.Random(threading.get_ident())
        return self.local.rng


def _person(role: str, username: str):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


def setup(args: argparse.Namespace, run: int):
    """A flow whose rollout moves only through the cutover services, as in production: v1 (gpt-4.1) is requested
    and approved (a first cutover serves everyone at once), then v2 (the candidate) is approved by a second
    person and ramped to ``--percent`` with ``cutover.ramp``. The guard is set with its service; a breach rolls
    back with ``cutover.rollback`` and a healthy step may advance with ``cutover.ramp`` (``--auto-advance``).

    The one stand-in: the evidence a request needs (a passing validation run, diagnostics) is answered as
    passed, since running a validation per simulated flow is not what this bench measures."""
    from migrator.core.roles import ENGINEER, SUPPORT_LEAD
    from migrator.cutover import services as cutover
    from migrator.flows.services import served_cache, tokens
    from migrator.prompts.models import PromptLabel
    from migrator.rollouts.services import guard
    from tests.cutover.helpers import evidence_passing
    from tests.factories import AssistantFactory, FlowFactory
    from tests.flows.factories import make_version

    slug = f"sim-{os.getpid()}-{run}"
    engineer = _person(ENGINEER, f"{slug}-eng")
    lead = _person(SUPPORT_LEAD, f"{slug}-lead")
    assistant = AssistantFactory(legacy_id=f"asst_{slug}")
    fmt = ({"type": "json_schema", "name": "reply", "schema": SCHEMA, "strict": True} if args.broken_json
           else {"type": "text"})
    base = {"instructions": "You help customers with their orders.", "tools": [], "text": {"format": fmt}}
    make_version(assistant, {"model": "gpt-4.1", **base}, approved=True)
    flow = FlowFactory(assistant=assistant, slug=slug, name=f"Simulated {run}", mode=args.mode, status="validated")
    evidence = ("validation", "backfill", "diagnostics")
    with evidence_passing(*evidence):
        first = cutover.request_cutover(flow_id=flow.pk, actor=engineer, note="simulator: v1 into production")
        cutover.approve(request_id=first.pk, actor=lead, reason="simulator: first cutover")
    v2 = make_version(assistant, {"model": CANDIDATE_MODEL, **base}, approved=True)
    assert PromptLabel.objects.get(assistant=assistant, name="approved").version_id == v2.pk
    with evidence_passing(*evidence):
        second = cutover.request_cutover(flow_id=flow.pk, actor=engineer, note="simulator: the candidate")
        cutover.approve(request_id=second.pk, actor=lead, reason="simulator: ramp the candidate")
        guard.set_guard(flow_id=flow.pk, actor=lead, min_sample=args.min_sample,
                        max_error_rate_increase=args.max_error_rate_increase,
                        max_schema_invalid_increase=args.max_error_rate_increase if args.broken_json else None,
                        max_p95_latency_ratio=args.max_p95_ratio, action="rollback",
                        auto_advance=args.auto_advance)
        cutover.ramp(flow_id=flow.pk, actor=lead, percent=args.percent, reason="simulator: first step")
    _token, secret = tokens.create_token(actor=engineer, name=f"simulator {run}", consumer="simulator")
    served_cache.forget_all()
    return flow, secret


def start_web(port: int, log: Path) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "migrator.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "8", "--log-level", "warning"],
        cwd=REPO, env=dict(os.environ), stdout=log.open("a"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn did not start; see {log}")


def one_run(args: argparse.Namespace, run: int, sandbox, port: int, log: Path) -> dict[str, Any]:
    from django.db import connection

    from migrator.cutover.models import FlowRollout, ServingChange
    from migrator.rollouts.models import Breach, Guard
    from migrator_client import Migrator

    flow, secret = setup(args, run)
    connection.close()
    web = start_web(port, log)
    sim = Simulation(args)
    real = sandbox.client(max_retries=0, timeout=30)
    cache = Path(tempfile.mkdtemp(prefix="migrator-sim-cache-"))
    m = Migrator(base_url=f"http://127.0.0.1:{port}", token=secret, openai_client=FaultyClient(real, sim), ttl=1.0,
                 timeout=2.0, cache_dir=cache, send_interval=0.5)
    mflow = m.flow(flow.slug)
    states: dict[str, Any] = {}
    started = time.monotonic()
    sim.fault_from = started + args.fault_after
    outage = {"down": None, "up": None}

    # A person sends the next message after reading the reply: turn n of a subject waits for its turn n-1 (the
    # pool takes items in order, so that turn is already in flight). Without this, a subject's next turn could
    # start with no state while the previous one was still running, and land on another release.
    answered = {s: [threading.Event() for _ in range(args.turns)] for s in (f"user-{run}-{i}"
                                                                          for i in range(args.subjects))}

    def turn(subject: str, n: int) -> None:
        if n:
            answered[subject][n - 1].wait()
        try:
            _turn(subject, n)
        finally:
            answered[subject][n].set()

    def _turn(subject: str, n: int) -> None:
        try:
            reply = mflow.respond(subject=subject, input=f"Turn {n}: where is my order {subject}?",
                                  state=states.get(subject))
        except Exception as exc:
            name = type(exc).__name__ + (f":{exc.code or exc.status}" if hasattr(exc, "status") else "")
            with sim.lock:
                sim.failed[name] += 1
                sim.requests += 1
            return
        with sim.lock:
            sim.requests += 1
            states[subject] = reply.state
            sim.served[subject].append(reply.release)
            if reply.switched:
                sim.switched.add(subject)

    subjects = [f"user-{run}-{i}" for i in range(args.subjects)]
    order = [(s, n) for n in range(args.turns) for s in subjects]  # every subject's turn 1, then turn 2, …
    rng = random.Random(run)
    for n in range(args.turns):  # shuffle within a turn so conversations interleave
        chunk = order[n * len(subjects):(n + 1) * len(subjects)]
        rng.shuffle(chunk)
        order[n * len(subjects):(n + 1) * len(subjects)] = chunk

    def outage_thread() -> None:
        nonlocal web
        time.sleep(args.stop_web_at)
        web.terminate()
        web.wait(timeout=30)
        outage["down"] = time.monotonic() - started
        time.sleep(args.stop_web_for)
        web = start_web(port, log)
        outage["up"] = time.monotonic() - started

    if args.stop_web_at:
        threading.Thread(target=outage_thread, daemon=True).start()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        list(pool.map(lambda item: turn(*item), order))
    wall = time.monotonic() - started
    if args.stop_web_at:
        while outage["up"] is None:
            time.sleep(0.2)
    flushed = m.flush(timeout=60)
    m.close(timeout=10)
    time.sleep(1.5)  # the last ingest's guard evaluation runs in the web process's background thread
    web.terminate()
    web.wait(timeout=30)

    connection.close()
    from django.db.models import Sum

    from migrator.rollouts.models import OutcomeMinute

    guard = Guard.objects.get(flow=flow)
    breach = Breach.objects.filter(flow=flow).first()
    rollback = ServingChange.objects.filter(flow=flow, kind="rollback").first()
    rollout = FlowRollout.objects.get(flow=flow)
    unexpected = sum(1 for s, releases in sim.served.items() if len(set(releases)) > 1 and s not in sim.switched)
    reported = OutcomeMinute.objects.filter(flow=flow).aggregate(n=Sum("n"))["n"] or 0
    steps = [f"{c.kind} {float(c.from_percent):g}→{float(c.to_percent):g}% by {c.actor_label}" for c in
             ServingChange.objects.filter(flow=flow).order_by("created_at", "id")]
    return {"flow": flow.slug, "wall": wall, "requests": sim.requests, "failed": dict(sim.failed), "injected": sim.injected,
            "candidate_total": sim.candidate_total, "candidate_after_fault": sim.candidate_after_fault,
            "guard": guard.state, "metric": guard.metric, "figures": guard.figures,
            "breach_at": breach.created_at if breach else None, "summary": breach.summary if breach else "",
            "rolled_back": rollback is not None and rollout.candidate_id is None,
            "unexpected_switches": unexpected, "moved_by_rollback": len(sim.switched),
            "steps": steps, "reported": reported, "dropped": m.dropped, "flushed": flushed, "outage": outage,
            "client": dict(m.config.stats), "sender": dict(m.reporter.stats)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--mode", choices=["stateless", "previous_response", "conversation"], default="stateless")
    parser.add_argument("--percent", type=float, default=10)
    parser.add_argument("--error-rate", type=float, default=0.2, help="candidate calls that fail (sandbox 500)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to each candidate call")
    parser.add_argument("--broken-json", type=float, default=0.0, help="candidate replies that break the schema")
    parser.add_argument("--fault-after", type=float, default=0.0, help="seconds before the candidate turns bad")
    parser.add_argument("--min-sample", type=int, default=100)
    parser.add_argument("--max-error-rate-increase", type=float, default=0.02)
    parser.add_argument("--max-p95-ratio", type=float, default=None)
    parser.add_argument("--auto-advance", action="store_true",
                        help="the guard ramps a healthy step on (10 → 25 → 50 → 100%%) by itself")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--stop-web-at", type=float, default=0.0, help="stop migrator's web process after S s")
    parser.add_argument("--stop-web-for", type=float, default=5.0)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        os.environ["MIGRATOR_DATA_DIR"] = tempfile.mkdtemp(prefix="migrator-sim-")
    os.environ.setdefault("MIGRATOR_BROKER", "filesystem")
    os.environ["GUARD_EVALUATE_ON_INGEST"] = "true"

    from pages import setup_django

    setup_django()
    from django.core.management import call_command

    from migrator.sandbox.launcher import free_port, start_sandbox

    call_command("migrate", verbosity=0)
    folder = Path(tempfile.mkdtemp(prefix="migrator-sim-sandbox-"))
    log = folder / "gunicorn.log"
    rolled_back = 0
    with start_sandbox(state_path=folder / "sandbox.sqlite3", seed="empty", workers=2) as sandbox:
        for run in range(args.runs):
            r = one_run(args, run, sandbox, free_port(), log)
            rolled_back += r["rolled_back"]
            fired = "never" if not r["breach_at"] else f"{r['breach_at']:%H:%M:%S} UTC ({r['metric']})"
            print(f"run {run + 1}/{args.runs}: {r['requests']:,} requests in {r['wall']:.1f}s from {args.subjects:,} "
                  f"subjects × {args.turns} turns ({args.mode}), candidate at {args.percent:g}% "
                  f"(errors {args.error_rate:.0%}, +{args.latency_ms} ms, broken JSON {args.broken_json:.0%})")
            print(f"  guard fired: {fired}; {'ROLLED BACK' if r['rolled_back'] else 'not rolled back'}; "
                  f"state {r['guard']}")
            if r["summary"]:
                print(f"  breach: {r['summary']}")
            print(f"  serving changes (cutover services): {'; '.join(r['steps'])}")
            print(f"  candidate served {r['candidate_after_fault']:,} requests after the fault began "
                  f"({r['candidate_total']:,} in all)")
            print(f"  conversations that switched release mid-way: {r['unexpected_switches']} "
                  f"(moved off the pulled release by the rollback: {r['moved_by_rollback']})")
            others = sum(r["failed"].values()) - r["injected"]
            print(f"  failed requests: {sum(r['failed'].values())} = {r['injected']} injected candidate faults + "
                  f"{others} others {r['failed'] or ''} · outcomes reported {r['reported']:,}, "
                  f"dropped {r['dropped']}, flushed {r['flushed']}")
            if r["outage"]["down"] is not None:
                print(f"  migrator web down from {r['outage']['down']:.1f}s to {r['outage']['up']:.1f}s; client "
                      f"config {r['client']}; sender {r['sender']}")
    if args.runs > 1:
        print(f"{rolled_back} of {args.runs} runs rolled back")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
