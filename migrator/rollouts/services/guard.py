"""The guard on a flow's ramp: set by a support lead, evaluated on ingest (off the request path, at most once a
second per flow across the web processes) and by the worker, acting on a breach (pause or roll back) with an
audit event, a webhook and an inbox item.

Each ramp step is judged on its own outcomes: from the step's start (its ``ServingChange``) on, the candidate's
outcomes against production's, by the always-valid confidence sequences of ``rollouts.stats`` (mSPRT):

- error rate: breach when the interval for (candidate − production) lies wholly above the allowed increase;
- schema-invalid rate: the same, over outcomes whose flow promises JSON;
- tool-call parity: breach when the candidate calls tools less often than production by more than allowed;
- p95 latency: breach when more than 5% of the candidate's calls are slower than ratio × production's p95,
  beyond doubt (a proportion test against 5%).

Nothing is decided below the minimum sample. A step is *healthy* when every interval lies wholly inside its
limit and the soak time has passed; with auto-advance the guard then ramps to the next step itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from migrator.core.actors import require, system, user_or_none
from migrator.core.models import Flow
from migrator.core.services import ServiceError, audit
from migrator.core.signals import cutover_event
from migrator.core.status import move
from migrator.rollouts import stats
from migrator.rollouts.models import GUARD_LIVE, Breach, Guard, GuardAction, GuardState
from migrator.rollouts.services.outcomes import Metrics, metrics

logger = logging.getLogger(__name__)

GUARD_ACTOR = system("guard", "the rollout guard", perms={"cutover.ramp_cutover"})
STEPS = (1, 10, 25, 50, 100)
MIN_PRODUCTION_SAMPLE = 30
LATENCY_SHARE = 0.05  # p95: at most 5% of calls may be slower than the limit
ALERT_METRIC = "openai_alert"  # a pause on an OpenAI alert (pause_in_progress), not a breach of a limit


def _number(value: Any, name: str, *, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"{name} must be a number, not {value!r}.") from exc
    if not low <= number <= high:
        raise ServiceError(f"{name} must be from {low:g} to {high:g}, not {number:g}.")
    return number


def set_guard(*, flow_id: int, actor, min_sample: Any, max_error_rate_increase: Any,
              max_schema_invalid_increase: Any = None, max_p95_latency_ratio: Any = None,
              max_tool_parity_drop: Any = None, soak_minutes: Any = 0, action: str = GuardAction.PAUSE,
              auto_advance: bool = False) -> Guard:
    """Set (or reset) the guard of a flow's ramp. Setting it again resumes a ramp the guard paused."""
    require(actor, "cutover.ramp_cutover", action="set a rollout guard")
    if action not in GuardAction.values:
        raise ServiceError(f"The action must be pause or rollback, not {action!r}.")
    fields = {
        "min_sample": int(_number(min_sample, "The minimum sample", low=10, high=10_000_000)),
        "max_error_rate_increase": _number(max_error_rate_increase, "The largest error-rate increase", low=0, high=1),
        "max_schema_invalid_increase": (None if max_schema_invalid_increase in (None, "") else _number(
            max_schema_invalid_increase, "The largest schema-invalid increase", low=0, high=1)),
        "max_p95_latency_ratio": (None if max_p95_latency_ratio in (None, "") else _number(
            max_p95_latency_ratio, "The largest p95 latency ratio", low=1, high=100)),
        "max_tool_parity_drop": (None if max_tool_parity_drop in (None, "") else _number(
            max_tool_parity_drop, "The largest tool-call parity drop", low=0, high=1)),
        "soak_minutes": int(_number(soak_minutes or 0, "The soak time", low=0, high=10_080)),
        "action": action, "auto_advance": bool(auto_advance),
    }
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(pk=flow_id).first()
        if flow is None:
            raise ServiceError(f"Flow #{flow_id} does not exist.")
        guard = Guard.objects.filter(flow=flow).first()
        before = _snapshot(guard) if guard else None
        now = timezone.now()
        if guard is None:  # created watching, the table's first state
            guard = Guard.objects.create(flow=flow, **fields, set_by=user_or_none(actor), step_started_at=now)
        # From whatever state it holds now, not the one read above: an evaluation off the request path may have
        # moved it since (it does not lock the flow). Setting it again always restarts the step, watching.
        elif not move(guard, GuardState.WATCHING, any_source=True, **fields, metric="", figures={},
                      set_by=user_or_none(actor), step_started_at=now, updated_at=now):
            raise ServiceError(f"The guard of {flow.name} is {guard.state}: it cannot be set again from there.")
        audit.record(actor=actor, verb="migrator.rollouts.guard_set", obj=flow, before=before, after=_snapshot(guard))
    return guard


def _snapshot(guard: Guard) -> dict[str, Any]:
    return {"min_sample": guard.min_sample, "max_error_rate_increase": guard.max_error_rate_increase,
            "max_schema_invalid_increase": guard.max_schema_invalid_increase,
            "max_p95_latency_ratio": guard.max_p95_latency_ratio, "max_tool_parity_drop": guard.max_tool_parity_drop,
            "soak_minutes": guard.soak_minutes, "action": guard.action, "auto_advance": guard.auto_advance}


def acknowledge(*, breach_id: int, actor) -> Breach:
    """A support lead has seen a breach: it leaves the inbox (the guard's state is unchanged)."""
    require(actor, "cutover.ramp_cutover", action="acknowledge a guard breach")
    with transaction.atomic():
        breach = Breach.objects.select_for_update().filter(pk=breach_id).select_related("flow").first()
        if breach is None:
            raise ServiceError(f"Breach #{breach_id} does not exist.")
        if breach.acknowledged_at is None:
            breach.acknowledged_at = timezone.now()
            breach.acknowledged_by = user_or_none(actor)
            breach.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit.record(actor=actor, verb="migrator.rollouts.breach_acknowledged", obj=breach.flow,
                         data={"breach_id": breach.pk, "metric": breach.metric})
    return breach


def ramp_blocked(flow: Flow) -> str:
    """Why a ramp must wait ('' when it may go on): the guard paused it on a breach."""
    guard = Guard.objects.filter(flow=flow).only("state", "metric", "figures").first()
    if guard and guard.state == GuardState.PAUSED:
        resume = "Roll back, or set the guard again (`manage.py cutover guard` or the cutover page) to resume."
        if guard.metric == ALERT_METRIC:
            return f"The guard paused this ramp on an OpenAI alert: {(guard.figures or {}).get('summary')}. {resume}"
        return f"The guard paused this ramp: {guard.metric} breached. {resume}"
    return ""


# --- evaluation --------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    state: str
    metric: str = ""
    figures: dict[str, Any] | None = None


def _step_start(flow: Flow, guard: Guard) -> datetime:
    from migrator.cutover.models import ServingChange

    last = ServingChange.objects.filter(flow=flow).order_by("-created_at", "-id").values_list("created_at",
                                                                                           flat=True).first()
    starts = [t for t in (last, guard.step_started_at) if t is not None]
    return max(starts) if starts else timezone.now()


def _side(found: dict[tuple[str, str], Metrics], role: str) -> Metrics:
    total = Metrics(release="", role=role)
    releases = []
    for (release, r), m in found.items():
        if r != role:
            continue
        releases.append((m.n, release))
        for name in ("n", "errors", "schema_checked", "schema_invalid", "refusals", "with_tools", "input_tokens",
                     "output_tokens", "cost_usd", "agreement_n", "agreement_sum"):
            setattr(total, name, getattr(total, name) + getattr(m, name))
        for hist, into in ((m.latency, total.latency), (m.ttft, total.ttft)):
            for b, n in hist.items():
                into[b] = into.get(b, 0) + n
    total.release = max(releases)[1] if releases else ""
    return total


def judge(guard: Guard, cand: Metrics, prod: Metrics) -> Verdict:
    """The decision for one step, from the two sides' totals (pure: no database)."""
    alpha = guard.alpha
    base = {"candidate_n": cand.n, "production_n": prod.n, "min_sample": guard.min_sample}
    if cand.n < guard.min_sample or prod.n < MIN_PRODUCTION_SAMPLE:
        return Verdict(GuardState.WATCHING, "", base)
    checks: list[tuple[str, stats.Interval, float, dict[str, Any]]] = []
    limit = guard.max_error_rate_increase
    interval = stats.difference(cand.errors, cand.n, prod.errors, prod.n, alpha=alpha, tau=max(limit, 0.01))
    checks.append(("error_rate", interval, limit, {"candidate": cand.error_rate, "production": prod.error_rate}))
    if guard.max_schema_invalid_increase is not None and cand.schema_checked and prod.schema_checked:
        limit = guard.max_schema_invalid_increase
        interval = stats.difference(cand.schema_invalid, cand.schema_checked, prod.schema_invalid,
                                    prod.schema_checked, alpha=alpha, tau=max(limit, 0.01))
        checks.append(("schema_invalid_rate", interval, limit,
                       {"candidate": cand.schema_invalid_rate, "production": prod.schema_invalid_rate}))
    if guard.max_tool_parity_drop is not None and cand.n > cand.errors and prod.n > prod.errors:
        limit = guard.max_tool_parity_drop
        # Drop = production's tool-call rate minus the candidate's.
        interval = stats.difference(prod.with_tools, prod.n - prod.errors, cand.with_tools, cand.n - cand.errors,
                                    alpha=alpha, tau=max(limit, 0.01))
        checks.append(("tool_call_parity", interval, limit,
                       {"candidate": cand.tool_rate, "production": prod.tool_rate}))
    if guard.max_p95_latency_ratio is not None:
        p95 = prod.quantile("latency", 0.95)
        if p95:
            cut = p95 * guard.max_p95_latency_ratio
            slow, n = cand.share_above("latency", cut)
            interval = stats.proportion(slow, n, alpha=alpha, tau=0.05)
            interval = stats.Interval(interval.estimate - LATENCY_SHARE, interval.low - LATENCY_SHARE,
                                      interval.high - LATENCY_SHARE)
            checks.append(("p95_latency", interval, 0.0, {
                "candidate": cand.quantile("latency", 0.95), "production": p95, "limit_ms": round(cut, 1),
                "candidate_share_slower": round(slow / n, 4) if n else None}))
    healthy = True
    for metric, interval, limit, values in checks:
        figures = {**base, **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in values.items()},
                   "allowed": limit, "interval": interval.as_json(), "alpha": alpha}
        if interval.low > limit:
            return Verdict(GuardState.BREACHED, metric, figures)
        if interval.high >= limit:
            healthy = False
    return Verdict(GuardState.HEALTHY if healthy else GuardState.WATCHING, "", {
        **base, "error_rate": {"candidate": cand.error_rate, "production": prod.error_rate}})


def evaluate(*, flow_id: int, now: datetime | None = None) -> Verdict | None:
    """Judge the current step of ``flow_id``'s ramp and act on the verdict. None when nothing is guarded."""
    from migrator.cutover.models import FlowRollout

    now = now or timezone.now()
    guard = Guard.objects.select_related("flow").filter(flow_id=flow_id).first()
    if guard is None or guard.state in (GuardState.PAUSED, GuardState.ROLLED_BACK, GuardState.OFF) \
            or guard.max_error_rate_increase is None:
        return None
    rollout = FlowRollout.objects.filter(flow_id=flow_id).first()
    if rollout is None or not rollout.candidate_id or Decimal(rollout.percent or 0) <= 0:
        return None
    start = _step_start(guard.flow, guard)
    start_minute = start.replace(second=0, microsecond=0)
    found = metrics(flow_id=flow_id, since=start_minute)
    verdict = judge(guard, _side(found, "candidate"), _side(found, "production"))
    if verdict.state == GuardState.HEALTHY:
        # Healthy on the step's own outcomes only. Aggregates are per minute, so the minute the step began in
        # also holds the previous step's calls; judged on those, an advance was "healthy" again at once and
        # carried the ramp 10 → 25 → 50 → 100% within seconds. A breach may still be found on them: it is the
        # same candidate release.
        own_from = start_minute + timedelta(minutes=1)
        own = metrics(flow_id=flow_id, since=own_from)
        mine = judge(guard, _side(own, "candidate"), _side(own, "production"))
        if mine.state != GuardState.HEALTHY:
            verdict = Verdict(GuardState.WATCHING, "", {**(mine.figures or {}), "own_outcomes_from":
                                                       own_from.isoformat()})
    if verdict.state == GuardState.HEALTHY and now - start < timedelta(minutes=guard.soak_minutes):
        verdict = Verdict(GuardState.WATCHING, "", {**(verdict.figures or {}), "soaking_until":
                                                       (start + timedelta(minutes=guard.soak_minutes)).isoformat()})
    if verdict.state == GuardState.BREACHED:
        _breach(guard, rollout, verdict, found)
    else:
        # From either live state, not only the one read above: two evaluations may cross (ingest and the worker),
        # and the later one's figures stand. A pause or rollback that landed meanwhile stands too.
        move(guard, verdict.state, any_source=True, where={"state__in": GUARD_LIVE},
             figures=verdict.figures or {}, metric="", evaluated_at=now)
        if verdict.state == GuardState.HEALTHY and guard.auto_advance:
            _advance(guard, rollout)
    return verdict


def _describe(verdict: Verdict) -> str:
    f = verdict.figures or {}

    def pct(x: Any) -> str:
        return f"{x * 100:.1f}%" if isinstance(x, (int, float)) else "n/a"

    if verdict.metric == "p95_latency":
        return (f"p95 latency {f.get('candidate')} ms on the candidate against {f.get('production')} ms in "
                f"production (limit {f.get('limit_ms')} ms) over {f.get('candidate_n')} candidate calls")
    name = verdict.metric.replace("_", " ")
    return (f"{name} {pct(f.get('candidate'))} on the candidate against {pct(f.get('production'))} in production "
            f"(allowed worsening {pct(f.get('allowed'))}) over {f.get('candidate_n')} candidate and "
            f"{f.get('production_n')} production calls")


def _stop_step(locked: Guard, flow: Flow, *, release: str, metric: str, figures: dict[str, Any], summary: str,
               action: str, percent: Decimal, verb: str) -> Breach | None:
    """Stop the guard (paused or rolled back) and record the breach in the caller's transaction: the guard's
    state, the Breach row (the inbox item), the audit event and the ``cutover.guard_breached`` webhook.

    None when the guard was no longer in the state ``locked`` holds (SQLite takes no row lock, so another
    evaluation may have stopped it first): that one recorded the breach."""
    target = GuardState.ROLLED_BACK if action == GuardAction.ROLLBACK else GuardState.PAUSED
    now = timezone.now()
    if not move(locked, target, metric=metric, figures=figures, evaluated_at=now, updated_at=now):
        return None
    breach = Breach.objects.create(flow=flow, release=release, metric=metric, summary=summary, figures=figures,
                                   action=action, percent=percent)
    audit.record(actor=GUARD_ACTOR, verb=verb, obj=flow,
                 data={"breach_id": breach.pk, "metric": metric, "figures": figures, "action": action,
                       "release": release, "percent": float(percent), "summary": summary})
    payload = {"event": "cutover.guard_breached", "flow": {"slug": flow.slug, "name": flow.name},
               "metric": metric, "figures": figures, "action": action, "release": release,
               "percent": float(percent), "summary": summary, "at": timezone.now().isoformat(),
               "actor": GUARD_ACTOR.display}
    transaction.on_commit(lambda: cutover_event.send(sender=Guard, event="cutover.guard_breached",
                                                     payload=payload, actor=GUARD_ACTOR))
    return breach


def _breach(guard: Guard, rollout, verdict: Verdict, found) -> None:
    from migrator.cutover import services as cutover

    flow = guard.flow
    with transaction.atomic():
        # The flow first, then the guard: the order of cutover.ramp/rollback and pause_in_progress (no deadlock).
        Flow.objects.select_for_update().filter(pk=flow.pk).first()
        locked = Guard.objects.select_for_update().filter(pk=guard.pk).first()
        if locked is None or locked.state not in GUARD_LIVE:
            return  # another evaluation acted first
        what = _describe(verdict)
        if _stop_step(locked, flow, release=_side(found, "candidate").release, metric=verdict.metric,
                      figures=verdict.figures or {}, summary=what, action=locked.action, percent=rollout.percent,
                      verb="migrator.rollouts.guard_breached") is None:
            return  # another evaluation acted first
        if locked.action == GuardAction.ROLLBACK:
            try:
                cutover.rollback(flow_id=flow.pk, actor=GUARD_ACTOR, reason=f"Guard breach: {what}.")
            except ServiceError as exc:  # e.g. rolled back by hand meanwhile: the breach still stands, paused
                logger.warning("guard could not roll back %s: %s", flow.slug, exc)
                move(locked, GuardState.PAUSED)
    logger.warning("guard breach on %s: %s (%s)", flow.slug, what, guard.action)



def pause_in_progress(*, summary: str, figures: dict[str, Any]) -> list[Flow]:
    """An alert from outside (OpenAI's webhooks) pauses every rollout in progress — a candidate approved or on
    part of the traffic — at its step. Never a rollback: production runs on the same provider, so the alert
    says nothing against the candidate; it says "do not move now". A flow without a guard gets one that only
    holds the pause (no limits: it judges nothing until a support lead sets it, which resumes the ramp)."""
    from migrator.cutover.models import FlowRollout

    paused: list[Flow] = []
    for flow_id in FlowRollout.objects.filter(candidate__isnull=False).order_by("flow_id").values_list(
            "flow_id", flat=True):
        with transaction.atomic():
            flow = Flow.objects.select_for_update().filter(pk=flow_id).first()
            rollout = (FlowRollout.objects.select_related("candidate_release").filter(flow_id=flow_id,
                                                                                    candidate__isnull=False).first())
            if flow is None or rollout is None:
                continue  # rolled back or completed meanwhile
            locked = Guard.objects.select_for_update().filter(flow=flow).first()
            if locked is not None and locked.state == GuardState.PAUSED:
                continue  # already held; its first reason stands
            if locked is None:  # created watching, the table's first state; _stop_step pauses it at once
                locked = Guard.objects.create(flow=flow, max_error_rate_increase=None, step_started_at=timezone.now())
            release = rollout.candidate_release.hash if rollout.candidate_release_id else ""
            if _stop_step(locked, flow, release=release, metric=ALERT_METRIC, figures={**figures, "summary": summary},
                          summary=summary, action=GuardAction.PAUSE, percent=rollout.percent,
                          verb="migrator.rollouts.alert_paused") is not None:
                paused.append(flow)
    for flow in paused:
        logger.warning("rollout of %s paused: %s", flow.slug, summary)
    return paused


def _advance(guard: Guard, rollout) -> None:
    from migrator.cutover import services as cutover

    current = Decimal(rollout.percent or 0)
    target = next((s for s in STEPS if s > current), None)
    if target is None:
        return
    try:
        cutover.ramp(flow_id=guard.flow_id, actor=GUARD_ACTOR, percent=target,
                     reason=f"Guard: step at {current}% healthy; advancing to {target}%.")
    except ServiceError as exc:
        logger.info("guard could not advance %s: %s", guard.flow.slug, exc)
        return
    # The next step starts watched. Only from a live state: a pause or rollback that landed while the ramp ran
    # (an OpenAI alert, a breach found by another evaluation) stands.
    move(guard, GuardState.WATCHING, any_source=True, where={"state__in": GUARD_LIVE},
         step_started_at=timezone.now())


def evaluate_all() -> int:
    """Every guarded flow with a candidate on traffic (the worker's periodic pass)."""
    done = 0
    for flow_id in Guard.objects.filter(state__in=GUARD_LIVE).values_list(
            "flow_id", flat=True):
        try:
            evaluate(flow_id=flow_id)
            done += 1
        except Exception:  # one flow's problem must not stop the others' guards
            logger.exception("evaluating the guard of flow #%s failed", flow_id)
    return done


# --- on ingest, off the request path ------------------------------------------------------------------------

MIN_GAP_SECONDS = 1.0
_pending: dict[int, float] = {}  # flow id → when this process last asked for an evaluation (monotonic)
_queued: set[int] = set()
_pending_lock = threading.Lock()
_wake = threading.Event()
_runner_pid: int | None = None


def claim(flow_id: int, *, now: datetime | None = None, gap: float = MIN_GAP_SECONDS) -> bool:
    """Take the turn to evaluate ``flow_id``'s guard: a compare-and-set on ``evaluated_at`` (one UPDATE that
    matches only a guard that judges and was not evaluated within ``gap`` seconds), so the web processes
    together evaluate a flow at most once per ``gap``, whichever process ingests."""
    now = now or timezone.now()
    return bool(Guard.objects.filter(flow_id=flow_id, state__in=[GuardState.WATCHING, GuardState.HEALTHY],
                                     max_error_rate_increase__isnull=False)
                .filter(Q(evaluated_at__isnull=True) | Q(evaluated_at__lte=now - timedelta(seconds=gap)))
                .update(evaluated_at=now))


def _run() -> None:
    """The process's one guard thread: evaluates the flows ingest asked for, keeping its database connection
    (a thread per evaluation opened a new connection each time)."""
    while True:
        _wake.wait()
        with _pending_lock:
            _wake.clear()
            flow_ids = sorted(_queued)
            _queued.clear()
        for flow_id in flow_ids:
            try:
                close_old_connections()
                if claim(flow_id):
                    evaluate(flow_id=flow_id)
            except Exception:
                logger.exception("evaluating the guard of flow #%s after ingest failed", flow_id)


def evaluate_soon(flow_id: int) -> None:
    """Ask this process's guard thread to evaluate ``flow_id`` (off the request path). A process asks at most
    once a second per flow, and :func:`claim` lets one process of all evaluate it."""
    global _runner_pid
    if not settings.GUARD_EVALUATE_ON_INGEST:
        return
    now = time.monotonic()
    with _pending_lock:
        if now - _pending.get(flow_id, -1e9) < MIN_GAP_SECONDS:
            return
        _pending[flow_id] = now
        _queued.add(flow_id)
        if _runner_pid != os.getpid():  # none yet, or inherited through a fork without its thread
            _runner_pid = os.getpid()
            threading.Thread(target=_run, name="migrator-guard", daemon=True).start()
    _wake.set()
