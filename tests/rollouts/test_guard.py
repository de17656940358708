"""The guard: always-valid decisions, breach → rollback or pause with audit, webhook event and inbox item,
a healthy step left alone (and advanced when allowed), and the exact `cutover guard` contract."""

from __future__ import annotations

import json
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from migrator.core.models import AuditEvent
from migrator.core.services import ServiceError
from migrator.core.signals import cutover_event
from migrator.cutover import services as cutover
from migrator.cutover.models import FlowRollout
from migrator.rollouts import stats
from migrator.rollouts.models import Breach, Guard, GuardState
from migrator.rollouts.services import guard as guard_services
from migrator.rollouts.services import outcomes as outcome_services
from migrator.rollouts.services.outcomes import Metrics
from tests.cutover.test_services import OTHERS
from tests.rollouts.helpers import evidence_passing, ramping_flow, sample

pytestmark = pytest.mark.django_db


def _metrics(role: str, rows: list[dict]) -> Metrics:
    return _add(Metrics(release="r", role=role), rows)


def _add(m: Metrics, rows: list[dict]) -> Metrics:
    m.n += len(rows)
    m.errors += sum(1 for r in rows if r["error"])
    for r in rows:
        b = outcome_services.bucket_of(r["latency_ms"])
        m.latency[b] = m.latency.get(b, 0) + 1
    return m


def _draw(m: Metrics, n: int, error_rate: float, rng: random.Random, latency: float = 400.0) -> None:
    m.n += n
    m.errors += sum(rng.random() < error_rate for _ in range(n))
    for _ in range(n):
        b = outcome_services.bucket_of(latency * rng.uniform(0.7, 1.3))
        m.latency[b] = m.latency.get(b, 0) + 1


def test_a_healthy_candidate_is_never_breached_under_continuous_monitoring():
    """20 runs, each looked at after every 25 candidate outcomes up to 4,000: the always-valid interval never
    fires on a candidate as good as production (a fixed-sample z-test looked at this often would)."""
    guard = Guard(min_sample=100, max_error_rate_increase=0.02, max_p95_latency_ratio=1.5, alpha=0.05)
    fired = 0
    for run in range(20):
        rng = random.Random(run)
        cand, prod = Metrics(release="c", role="candidate"), Metrics(release="p", role="production")
        for _step in range(160):
            _draw(cand, 25, 0.03, rng)
            _draw(prod, 225, 0.03, rng)
            if guard_services.judge(guard, cand, prod).state == GuardState.BREACHED:
                fired += 1
                break
    assert fired == 0


def test_a_bad_candidate_breaches_soon_after_the_minimum_sample():
    guard = Guard(min_sample=100, max_error_rate_increase=0.02, alpha=0.05)
    rng = random.Random(7)
    cand: list[dict] = []
    prod: list[dict] = []
    while True:
        cand += sample("c", "candidate", 10, error_rate=0.20, rng=rng)
        prod += sample("p", "production", 90, error_rate=0.01, rng=rng)
        verdict = guard_services.judge(guard, _metrics("candidate", cand), _metrics("production", prod))
        if verdict.state == GuardState.BREACHED:
            break
    assert verdict.metric == "error_rate" and 100 <= len(cand) <= 200
    assert verdict.figures["candidate"] > 0.1 and verdict.figures["interval"]["low"] > 0.02


def test_the_interval_is_wider_than_a_fixed_sample_one():
    z = stats.difference(10, 100, 5, 100, alpha=0.05, tau=0.02)
    assert z.high - z.low > 2 * 1.96 * (0.1 * 0.9 / 100 + 0.05 * 0.95 / 100) ** 0.5


def _ingest(flow, rows, batch):
    outcome_services.ingest(flow_id=flow.pk, batch_id=batch, outcomes=rows)


def test_a_breach_rolls_back_with_audit_webhook_event_and_inbox_item(engineer, support_lead, client,
                                                                     django_capture_on_commit_callbacks):
    flow, v1, _v2 = ramping_flow(engineer, support_lead)
    call_command("cutover", "guard", "--flow", flow.slug, "--by", support_lead.username, "--min-sample", "100",
                 "--max-error-rate-increase", "0.02", "--action", "rollback", stdout=StringIO())
    events = []

    def listen(sender, *, event, payload, **_):
        events.append((event, payload))

    cutover_event.connect(listen)
    try:
        rng = random.Random(1)
        _ingest(flow, sample("prod", "production", 900, error_rate=0.01, rng=rng), "p1")
        _ingest(flow, sample("cand", "candidate", 150, error_rate=0.2, rng=rng), "c1")
        with django_capture_on_commit_callbacks(execute=True):
            verdict = guard_services.evaluate(flow_id=flow.pk)
    finally:
        cutover_event.disconnect(listen)
    sent = dict(events)
    assert sent["cutover.guard_breached"]["metric"] == "error_rate"
    assert sent["cutover.guard_breached"]["figures"]["candidate_n"] == 150
    assert "error rate" in sent["cutover.guard_breached"]["summary"] and "cutover.rolled_back" in sent
    assert verdict.state == GuardState.BREACHED and verdict.metric == "error_rate"
    rollout = FlowRollout.objects.get(flow=flow)
    assert rollout.candidate_id is None and rollout.production_id == v1.pk
    breach = Breach.objects.get(flow=flow)
    assert breach.metric == "error_rate" and breach.action == "rollback" and breach.release == "cand"
    audit = AuditEvent.objects.filter(verb="migrator.rollouts.guard_breached").get()
    assert audit.data["figures"]["candidate_n"] == 150
    assert AuditEvent.objects.filter(verb="migrator.cutover.rolled_back").exists()
    assert Guard.objects.get(flow=flow).state == GuardState.ROLLED_BACK
    client.force_login(support_lead)
    inbox = client.get("/cutover/")
    assert inbox.status_code == 200 and f'data-testid="breach-{breach.pk}"'.encode() in inbox.content
    status = json.loads(_run("status", "--json"))
    row = next(f for f in status["flows"] if f["slug"] == flow.slug)
    assert row["guard"]["state"] == "rolled_back" and row["guard"]["metric"] == "error_rate"
    assert row["guard"]["figures"]["candidate_n"] == 150
    live = {(r["role"], r["release"]): r for r in row["live"]}
    assert live[("candidate", "cand")]["requests"] == 150 and live[("production", "prod")]["requests"] == 900


def _run(*args: str) -> str:
    out = StringIO()
    call_command("cutover", *args, stdout=out)
    return out.getvalue()


def test_a_breach_pauses_the_ramp_until_the_guard_is_set_again(engineer, support_lead):
    flow, _v1, v2 = ramping_flow(engineer, support_lead)
    _run("guard", "--flow", flow.slug, "--by", support_lead.username, "--min-sample", "100",
         "--max-error-rate-increase", "0.02", "--max-p95-latency-ratio", "1.5", "--action", "pause")
    rng = random.Random(2)
    _ingest(flow, sample("prod", "production", 900, error_rate=0.0, rng=rng, latency=300), "p")
    _ingest(flow, sample("cand", "candidate", 200, error_rate=0.0, rng=rng, latency=900), "c")
    verdict = guard_services.evaluate(flow_id=flow.pk)
    assert verdict.metric == "p95_latency"
    assert FlowRollout.objects.get(flow=flow).candidate_id == v2.pk  # paused, still serving the step
    with evidence_passing(*OTHERS), pytest.raises(ServiceError, match="paused"):
        cutover.ramp(flow_id=flow.pk, actor=support_lead, percent=50)
    _run("guard", "--flow", flow.slug, "--by", support_lead.username, "--min-sample", "100",
         "--max-error-rate-increase", "0.02", "--action", "pause")
    with evidence_passing(*OTHERS):
        cutover.ramp(flow_id=flow.pk, actor=support_lead, percent=50)
    assert FlowRollout.objects.get(flow=flow).percent == 50


def test_a_healthy_step_advances_by_itself_when_allowed(engineer, support_lead):
    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    guard_services.set_guard(flow_id=flow.pk, actor=support_lead, min_sample=100, max_error_rate_increase=0.05,
                             action="pause", auto_advance=True)
    rng = random.Random(3)
    # Outcomes of the minute the step began in are not the step's own: healthy, but not yet shown to be.
    _ingest(flow, sample("prod", "production", 5000, error_rate=0.0, rng=rng), "p")
    _ingest(flow, sample("cand", "candidate", 1500, error_rate=0.0, rng=rng), "c")
    verdict = guard_services.evaluate(flow_id=flow.pk)
    assert verdict.state == GuardState.WATCHING and "own_outcomes_from" in verdict.figures
    assert float(FlowRollout.objects.get(flow=flow).percent) == 10.0
    # Two minutes on, the outcomes of the minutes after the step's first are its own.
    from datetime import timedelta

    from django.utils import timezone

    from migrator.cutover.models import ServingChange

    ServingChange.objects.filter(flow=flow).update(created_at=timezone.now() - timedelta(minutes=2))
    Guard.objects.filter(flow=flow).update(step_started_at=timezone.now() - timedelta(minutes=2))
    _ingest(flow, sample("prod", "production", 2000, error_rate=0.0, rng=rng), "p2")
    _ingest(flow, sample("cand", "candidate", 500, error_rate=0.0, rng=rng), "c2")
    with evidence_passing(*OTHERS):
        verdict = guard_services.evaluate(flow_id=flow.pk)
        assert verdict.state == GuardState.HEALTHY
        assert float(FlowRollout.objects.get(flow=flow).percent) == 25.0
        # The new step has no outcomes of its own yet: evaluating again at once does not carry it on to 50%.
        again = guard_services.evaluate(flow_id=flow.pk)
    assert again.state == GuardState.WATCHING and float(FlowRollout.objects.get(flow=flow).percent) == 25.0
    assert AuditEvent.objects.filter(verb="migrator.cutover.ramped", actor_label="the rollout guard").count() == 1


def test_the_guard_command_contract(engineer, support_lead, product_owner):
    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    out = _run("guard", "--flow", flow.slug, "--by", support_lead.username, "--min-sample", "500",
               "--max-error-rate-increase", "0.01", "--max-schema-invalid-increase", "0.02",
               "--max-p95-latency-ratio", "1.3", "--action", "rollback")
    assert "guard set" in out
    g = Guard.objects.get(flow=flow)
    assert (g.min_sample, g.max_error_rate_increase, g.max_schema_invalid_increase, g.max_p95_latency_ratio,
            g.action) == (500, 0.01, 0.02, 1.3, "rollback")
    with pytest.raises(CommandError, match="--min-sample"):
        _run("guard", "--flow", flow.slug, "--by", support_lead.username, "--action", "pause")
    with pytest.raises(CommandError, match="error-rate increase must be from 0 to 1"):
        _run("guard", "--flow", flow.slug, "--by", support_lead.username, "--min-sample", "100",
             "--max-error-rate-increase", "5", "--action", "pause")
    with pytest.raises(CommandError, match=r"not allowed|permission|may not"):
        _run("guard", "--flow", flow.slug, "--by", product_owner.username, "--min-sample", "100",
             "--max-error-rate-increase", "0.01", "--action", "pause")


def test_ingest_evaluations_take_turns_across_processes(engineer, support_lead):
    """The web processes evaluate a flow's guard after ingest at most once per MIN_GAP_SECONDS between them: a
    compare-and-set on evaluated_at, which a guard that judges nothing (paused, rolled back) never wins."""
    from datetime import timedelta

    from django.utils import timezone

    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    assert not guard_services.claim(flow.pk)  # no guard yet
    _run("guard", "--flow", flow.slug, "--by", support_lead.username, "--min-sample", "100",
         "--max-error-rate-increase", "0.02", "--action", "pause")
    now = timezone.now()
    assert guard_services.claim(flow.pk, now=now)
    assert not guard_services.claim(flow.pk, now=now + timedelta(seconds=0.5))  # another process, too soon
    assert guard_services.claim(flow.pk, now=now + timedelta(seconds=1))
    assert Guard.objects.get(flow=flow).evaluated_at == now + timedelta(seconds=1)
    Guard.objects.filter(flow=flow).update(state=GuardState.PAUSED)
    assert not guard_services.claim(flow.pk, now=now + timedelta(seconds=60))
