"""Demo cutover stages for `make run`: a flow at each stage, so every role has work in the first minute.

It lives in rollouts, the last step, because it drives every step before it (modes, tool tests, validation,
requests and ramps); a demo module may only use the apps its own app builds on.

- **migrated**: a first cutover, approved by the support lead, serves v1 to everyone at once;
- **rolling out**: v1 in production on a retiring model (gpt-4o, gpt-4.1), v2 on its successor approved and
  ramped to 10% of subjects. Once no demo prompt is on a retiring model any more (after 2027-01-14 the
  conversion itself picks the successor), v2 is the product owner's revision of the first conversion instead:
  the other kind of cutover, from a prompt rushed out at the shutdown to the reviewed one;
- **awaiting approval**: the same successor put forward for a sibling flow, waiting in the support lead's inbox
  beside what production serves now;
- **planning**: every other flow, as the flows demo left it (the engineer's to-do list).

Everything goes through the services, each step by the person whose job it is: the engineer chooses modes,
tests tools, validates and requests; the product owner moves the prompt to the successor model and the admin
approves that edit (nobody approves their own); the support lead approves and ramps. The evidence is real: tool
tests and validation runs are ordinary jobs, run in this process against the demo's connection (the sandbox).

Called by ``manage.py seed_demo`` after every other app's demo; idempotent (once any flow of the connection has a
cutover request it does nothing). A step the services refuse stops the stages and the summary says why, so
`make run` still starts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from migrator.core.model_catalog import DEFAULT_REASONING_EFFORT, SAMPLING_PARAMS, lookup, parameter_problems
from migrator.core.models import Connection, Flow, Job
from migrator.core.services import ServiceError
from migrator.core.services.jobs import run_job_now
from migrator.core.status import FlowMode, FlowStatus
from migrator.cutover import services as cutover
from migrator.cutover.models import CutoverRequest
from migrator.cutover.selectors import flow_stages
from migrator.flows.services import flows as flow_services
from migrator.prompts import services as prompt_services
from migrator.prompts.models import PromptVersion
from migrator.tools.services import start_all_tool_tests
from migrator.validation.models import SamplingStrategy, TestSet, ValidationRun
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets

# A handful of recorded threads per flow keeps `make run` fast (a few dozen cases, replayed in about a second)
# while still covering multi-turn state, which the validation's free runs need.
TEST_THREADS = 2
RAMP_PERCENT = 10


@dataclass
class Plan:
    """Which flows take which stage: a pair on one assistant (the successor is approved per assistant, so the
    ramping flow and the one awaiting approval share it) and one migrated flow of another assistant."""

    ramping: Flow | None = None
    awaiting: Flow | None = None
    migrated: Flow | None = None
    successor: str = ""

    @property
    def flows(self) -> list[Flow]:
        return [f for f in (self.ramping, self.awaiting, self.migrated) if f is not None]


@dataclass
class Seeder:
    connection: Connection
    users: dict[str, Any]
    test_sets: dict[int, TestSet] = field(default_factory=dict)
    tested: set[int] = field(default_factory=set)  # versions whose tools were tested (flows share an assistant)
    done: list[str] = field(default_factory=list)

    # --- the engineer's evidence ---------------------------------------------------------------------------

    def choose_mode(self, flow: Flow) -> Flow:
        """Accept the recommended mode (plan_stages only picks flows that have one or a mode already)."""
        if not flow.mode:
            mode = flow.recommended_mode
            flow, _ = flow_services.choose_mode(
                flow_id=flow.pk, actor=self.users["engineer"], mode=mode, truncation=flow.truncation,
                store=flow.store or mode == FlowMode.PREVIOUS_RESPONSE)
        return flow

    def test_tools(self, flow: Flow) -> None:
        """Every tool of the assistant's latest version, one job each (as the Tools tab's "Test all" does)."""
        version = cutover.approved_version(flow)
        if not (version.config.get("tools") or []) or version.pk in self.tested:
            return
        self.tested.add(version.pk)
        _run_here(lambda: start_all_tool_tests(assistant_id=flow.assistant_id, actor=self.users["engineer"],
                                               connection_id=self.connection.pk))

    def validate(self, flow: Flow, version: PromptVersion) -> ValidationRun:
        """Replay the flow's test set (built once, reused for the next version) through ``version``."""
        engineer = self.users["engineer"]
        test_set = self.test_sets.get(flow.pk)
        if test_set is None:
            test_set = self.test_sets[flow.pk] = testsets.create_test_set(
                actor=engineer, assistant_id=flow.assistant_id, flow_id=flow.pk,
                name=f"{flow.name}: {TEST_THREADS} recent threads", strategy=SamplingStrategy.RECENT,
                sample_size=TEST_THREADS, description="Built by the demo: the flow's most recent recorded threads.")
        [job] = _run_here(lambda: [run_services.start_run(actor=engineer, test_set_id=test_set.pk,
                                                          connection_id=self.connection.pk,
                                                          version_id=version.pk).job])
        return ValidationRun.objects.get(job_id=job.pk)

    def request(self, flow: Flow, version: PromptVersion, run: ValidationRun, note: str) -> CutoverRequest:
        return cutover.request_cutover(flow_id=flow.pk, actor=self.users["engineer"], version_number=version.number,
                                       note=f"{note} Validation run #{run.pk}: {run.summary}")

    # --- the stages ----------------------------------------------------------------------------------------

    def first_cutover(self, flow: Flow) -> tuple[Flow, ValidationRun]:
        """Planning → migrated: nothing is served yet, so the approved version serves everyone at once."""
        flow = self.choose_mode(flow)
        version = cutover.approved_version(flow)
        self.test_tools(flow)
        run = self.validate(flow, version)
        request = self.request(flow, version, run, f"First cutover of {flow.name} to v{version.number}.")
        cutover.approve(request_id=request.pk, actor=self.users["support"],
                        reason=f"Evidence complete; validation run #{run.pk} passed. Nothing served before.")
        return flow, run

    def successor_version(self, flow: Flow, successor: str) -> PromptVersion:
        """The product owner moves the approved prompt to the successor model (or, with none, revises it); the
        admin approves the edit."""
        current = cutover.approved_version(flow)
        old = current.config.get("model", "")
        if successor:
            config = on_model(current.config, successor)
            message = f"{old} shuts down on {lookup(old).shutdown_date:%Y-%m-%d}: move to its successor {successor}."
        else:
            config = revised(current.config)
            message = "Reviewed after the first conversion: ask before guessing."
        edited = prompt_services.save_edit(parent_id=current.pk, actor=self.users["product"], config=config,
                                           message=message)
        return prompt_services.approve_version(version_id=edited.pk, actor=self.users["admin"])

    def seed(self, plan: Plan) -> None:
        if plan.migrated is not None:
            self.first_cutover(plan.migrated)
            self.done.append(f"{plan.migrated.slug} migrated")
        if plan.ramping is None or plan.awaiting is None:
            self.done.append("no second cutover (no assistant has two ready flows)")
            return
        pair = [self.first_cutover(f)[0] for f in (plan.ramping, plan.awaiting)]
        version = self.successor_version(pair[0], plan.successor)
        self.test_tools(pair[0])  # the same tools, tested again with the new version
        what = plan.successor or "the reviewed prompt"
        requests = [self.request(f, version, self.validate(f, version),
                                 f"Move {f.name} to v{version.number} ({what}).") for f in pair]
        support = self.users["support"]
        cutover.approve(request_id=requests[0].pk, actor=support,
                        reason=f"Validation of v{version.number} ({what}) passed; start small.")
        cutover.ramp(flow_id=pair[0].pk, actor=support, percent=RAMP_PERCENT,
                     reason=f"First step: {RAMP_PERCENT}% of subjects on v{version.number}.")
        self.done.append(f"{pair[0].slug} ramping v{version.number} ({what}) at {RAMP_PERCENT}%")
        self.done.append(f"{pair[1].slug} awaiting approval of v{version.number} ({what})")


def on_model(config: dict[str, Any], model: str) -> dict[str, Any]:
    """``config`` on ``model``, minus what that model would refuse: a reasoning model answers 400 to sampling
    parameters, so they go and reasoning.effort steers instead (as the conversion does)."""
    moved = copy.deepcopy(config)
    moved["model"] = model
    for problem in parameter_problems(moved):
        if problem.param in SAMPLING_PARAMS:
            moved.pop(problem.param, None)
            moved.setdefault("reasoning", {"effort": DEFAULT_REASONING_EFFORT})
    return moved


REVISION = ("If a request is ambiguous or a detail you need is missing, ask one short clarifying question "
            "before answering.")


def revised(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the product owner's review applied: one instruction added, everything else as it was."""
    moved = copy.deepcopy(config)
    moved["instructions"] = f"{(config.get('instructions') or '').rstrip()}\n\n{REVISION}".lstrip()
    return moved


def _run_here(start: Callable[[], list[Job]]) -> list[Job]:
    """Start jobs and run them in this process before their transaction commits. No message reaches a broker
    (during `make run` no worker is up yet; after commit each message would find its job finished), and the
    jobs still appear on the Jobs page with who started them."""
    with transaction.atomic():
        return [run_job_now(job) for job in start()]


def _successor(model: str) -> str:
    info = lookup(model)
    return info.successor if info.shutdown_date and info.successor and info.successor != model else ""


def plan_stages(connection: Connection) -> Plan:
    """Pick flows the sandbox can prove ready, busiest assistant first.

    Ready means an approved version without function tools and a mode that keeps no state on the server. The
    demo threads record function calls at random turns while the sandbox's model calls a function only when the
    user names it, so a replay of a function-calling assistant fails validation there, as it should; and a
    conversation-mode flow would need a backfill first.
    """
    by_assistant: dict[int, list[Flow]] = {}
    flows = (Flow.objects.filter(assistant__connection=connection, status=FlowStatus.PLANNING)
             .select_related("assistant").order_by("-assistant__traffic_share", "assistant__name", "slug"))
    for flow in flows:
        version = cutover.approved_version(flow)
        mode = flow.mode or flow.recommended_mode
        if version is None or not mode or mode == FlowMode.CONVERSATION:
            continue
        if any(t.get("type") == "function" for t in version.config.get("tools") or []):
            continue
        by_assistant.setdefault(flow.assistant_id, []).append(flow)
    plan = Plan()
    pairs = [g for g in by_assistant.values() if len(g) >= 2]
    for group in pairs:
        successor = _successor(str(cutover.approved_version(group[0]).config.get("model") or ""))
        if successor:
            plan.ramping, plan.awaiting, plan.successor = group[0], group[1], successor
            break
    else:
        if pairs:  # no prompt on a retiring model (any more): the second cutover is a reviewed revision
            plan.ramping, plan.awaiting = pairs[0][0], pairs[0][1]
    plan.migrated = next((g[0] for g in by_assistant.values() if plan.ramping is None or
                          g[0].assistant_id != plan.ramping.assistant_id), None)
    return plan


def seed_demo(*, connection: Connection, users: dict[str, Any]) -> str:
    if CutoverRequest.objects.filter(flow__assistant__connection=connection).exists():
        return "cutover stages already exist; left as they are"
    plan = plan_stages(connection)
    if not plan.flows:
        return "no flow is ready for a cutover demo (it needs an approved version without function tools)"
    seeder = Seeder(connection=connection, users=users)
    stopped = ""
    try:
        seeder.seed(plan)
    except ServiceError as exc:  # the demo still starts; the summary says which step was refused and why
        stopped = f"; stopped: {exc}"
    planning = [s for s in flow_stages(Flow.objects.filter(assistant__connection=connection)) if s.stage == "planning"]
    return ", ".join([*seeder.done, f"{len(planning)} flows still planning"]) + stopped
