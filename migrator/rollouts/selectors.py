"""Read-side of guarded rollouts: each flow's guard and live per-release metrics, for status, pages and charts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from migrator.rollouts.models import Breach, Guard
from migrator.rollouts.services.outcomes import metrics

LIVE_WINDOW = timedelta(hours=1)


def guard_json(guard: Guard | None) -> dict[str, Any] | None:
    if guard is None:
        return None
    return {"state": guard.state, "metric": guard.metric or None, "figures": guard.figures or {},
            "action": guard.action, "min_sample": guard.min_sample,
            "max_error_rate_increase": guard.max_error_rate_increase,
            "max_schema_invalid_increase": guard.max_schema_invalid_increase,
            "max_p95_latency_ratio": guard.max_p95_latency_ratio, "auto_advance": guard.auto_advance,
            "evaluated_at": guard.evaluated_at.isoformat() if guard.evaluated_at else None}


def live_status(flows: list, *, window: timedelta = LIVE_WINDOW) -> dict[int, dict[str, Any]]:
    """Per flow: ``guard`` ({state, metric, figures} …, or null) and ``live`` metrics per release and side over
    the last ``window``."""
    since = (timezone.now() - window).replace(second=0, microsecond=0)
    guards = {g.flow_id: g for g in Guard.objects.filter(flow__in=flows)}
    out: dict[int, dict[str, Any]] = {}
    for flow in flows:
        found = metrics(flow_id=flow.pk, since=since)
        out[flow.pk] = {
            "guard": guard_json(guards.get(flow.pk)),
            "live": sorted((m.as_json() for m in found.values()), key=lambda r: (r["role"], r["release"])),
        }
    return out


def open_breaches(flows=None):
    qs = Breach.objects.filter(acknowledged_at__isnull=True).select_related("flow")
    return qs.filter(flow__in=flows) if flows is not None else qs


CHART_W, CHART_H, PAD, TOP = 720, 180, 40, 16


def chart(flow, *, minutes: int = 60) -> dict[str, Any] | None:
    """An SVG line chart (geometry only; the template draws it with classes, no style attributes) of each
    side's error rate per minute over the last ``minutes``, with ramps, rollbacks and breaches marked."""
    from migrator.cutover.models import ServingChange
    from migrator.rollouts.services.outcomes import series

    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=minutes - 1)
    rows = series(flow_id=flow.pk, since=start)
    if not rows:
        return None
    per_role: dict[str, dict[int, list[int]]] = {}
    for row in rows:
        i = int((row["minute"] - start).total_seconds() // 60)
        if 0 <= i < minutes:
            slot = per_role.setdefault(row["role"], {}).setdefault(i, [0, 0])
            slot[0] += row["n"] or 0
            slot[1] += row["errors"] or 0
    top_rate = max((e / n for points in per_role.values() for n, e in points.values() if n), default=0.0)
    ymax = max(0.05, min(1.0, round(top_rate * 1.2 + 0.005, 2)))
    baseline, right = CHART_H - 24, CHART_W - PAD // 2

    def x(i: float) -> float:
        return round(PAD + i * (right - PAD) / max(minutes - 1, 1), 1)

    def y(rate: float) -> float:
        return round(baseline - rate / ymax * (baseline - TOP), 1)

    lines = []
    for role in ("production", "candidate", "shadow"):
        points = per_role.get(role)
        if not points:
            continue
        coords = [f"{x(i)},{y(e / n)}" for i, (n, e) in sorted(points.items()) if n]
        lines.append({"role": role, "points": " ".join(coords), "requests": sum(n for n, _ in points.values()),
                      "errors": sum(e for _, e in points.values())})
    marks = []
    for change in ServingChange.objects.filter(flow=flow, created_at__gte=start).order_by("created_at"):
        i = (change.created_at - start).total_seconds() / 60
        marks.append({"x": x(i), "kind": change.kind, "label": f"{change.get_kind_display()} to "
                      f"{change.to_percent:g}% at {change.created_at:%H:%M}"})
    for breach in Breach.objects.filter(flow=flow, created_at__gte=start):
        i = (breach.created_at - start).total_seconds() / 60
        marks.append({"x": x(i), "kind": "breach", "label": f"Guard breach ({breach.metric}) at "
                      f"{breach.created_at:%H:%M}: {breach.summary}"})
    return {"w": CHART_W, "h": CHART_H, "pad": PAD, "top": TOP, "baseline": baseline, "right": right,
            "ymax": ymax, "y_half": y(ymax / 2), "lines": lines, "marks": marks, "minutes": minutes,
            "start": start, "end": now}


def panel(flow) -> dict[str, Any]:
    """Everything the cutover page's live section shows."""
    from migrator.rollouts.models import Shadow

    guard = Guard.objects.filter(flow=flow).first()
    since = (timezone.now() - LIVE_WINDOW).replace(second=0, microsecond=0)
    found = metrics(flow_id=flow.pk, since=since)
    live = sorted((m.as_json() for m in found.values()), key=lambda r: (r["role"], r["release"]))
    shadowed = [m for (_release, role), m in found.items() if role == "shadow"]
    compared = sum(m.agreement_n for m in shadowed)
    agreement = {"calls": compared, "errors": sum(m.errors for m in shadowed),
                 "share": (sum(m.agreement_sum for m in shadowed) / compared) if compared else None}
    return {"flow": flow, "guard": guard, "live": live, "chart": chart(flow), "agreement": agreement,
            "shadow": Shadow.objects.filter(flow=flow).first(), "breaches": Breach.objects.filter(flow=flow)[:10]}
