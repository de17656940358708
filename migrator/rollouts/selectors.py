"""Read-side of guarded rollouts: each flow's guard and live per-release metrics, for status, pages and charts."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
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
CHART_MINUTES = 60
LATENCY_RELEASES = 4  # the most-called releases get a latency line pair; more would not be readable


def _window(minutes: int) -> tuple[datetime, datetime]:
    now = timezone.now().replace(second=0, microsecond=0)
    return now - timedelta(minutes=minutes - 1), now


def _marks(flow, start: datetime) -> list[dict[str, Any]]:
    """Ramps, completions, rollbacks and guard breaches since ``start``, as (minutes from start, kind, label)."""
    from migrator.cutover.models import ServingChange

    marks = []
    for change in ServingChange.objects.filter(flow=flow, created_at__gte=start).order_by("created_at"):
        marks.append({"at": (change.created_at - start).total_seconds() / 60, "kind": change.kind,
                      "label": f"{change.get_kind_display()} to {change.to_percent:g}% at {change.created_at:%H:%M}"})
    for breach in Breach.objects.filter(flow=flow, created_at__gte=start):
        marks.append({"at": (breach.created_at - start).total_seconds() / 60, "kind": "breach",
                      "label": f"Guard breach ({breach.metric}) at {breach.created_at:%H:%M}: {breach.summary}"})
    return marks


def _frame(lines: list[dict[str, Any]], marks: list[dict[str, Any]], *, ymax: float, y_label: str, unit: str,
           title: str, start: datetime, end: datetime, minutes: int) -> dict[str, Any]:
    """The geometry every rollout chart shares (the template ``rollouts/_chart.html`` draws it with classes, no
    style attributes): minutes along x, ``ymax`` at the top, each line's ``values`` ({minute index: y}) as
    polyline points, and the vertical marks."""
    baseline, right = CHART_H - 24, CHART_W - PAD // 2

    def x(i: float) -> float:
        return round(PAD + i * (right - PAD) / max(minutes - 1, 1), 1)

    def y(value: float) -> float:
        return round(baseline - min(value, ymax) / ymax * (baseline - TOP), 1)

    drawn = [{**{k: v for k, v in line.items() if k != "values"},
              "points": " ".join(f"{x(i)},{y(v)}" for i, v in sorted(line["values"].items()))} for line in lines]
    return {"w": CHART_W, "h": CHART_H, "pad": PAD, "top": TOP, "baseline": baseline, "right": right,
            "ymax": ymax, "y_top": y_label, "unit": unit, "title": title, "lines": drawn, "minutes": minutes,
            "marks": [{**m, "x": x(m["at"])} for m in marks], "start": start, "end": end,
            "sides": list(dict.fromkeys(line["role"] for line in lines))}


def chart(flow, *, minutes: int = CHART_MINUTES, marks: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """Each side's error rate per minute over the last ``minutes``, with ramps, rollbacks and breaches marked."""
    from migrator.rollouts.services.outcomes import series

    start, end = _window(minutes)
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
    lines = []
    for role in ("production", "candidate", "shadow"):
        points = per_role.get(role)
        if points:
            lines.append({"role": role, "css": role, "name": role,
                          "values": {i: e / n for i, (n, e) in points.items() if n},
                          "note": f"{sum(e for _, e in points.values())} errors in "
                                  f"{sum(n for n, _ in points.values())} calls"})
    return _frame(lines, _marks(flow, start) if marks is None else marks, ymax=ymax,
                  y_label=f"{round(ymax * 100)}%", unit="error rate per minute",
                  title="Error rate per minute of each side of the rollout", start=start, end=end, minutes=minutes)


def latency_chart(flow, *, minutes: int = CHART_MINUTES,
                  marks: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """p50 and p95 latency per minute of each release (the most-called ``LATENCY_RELEASES``), from the
    per-minute histograms, with the same marks as the error-rate chart."""
    from migrator.rollouts.services.outcomes import minute_quantiles

    start, end = _window(minutes)
    found = minute_quantiles(flow_id=flow.pk, since=start, quantiles=(0.5, 0.95))
    if not found:
        return None
    ranked = sorted(found.items(), key=lambda item: -item[1]["calls"])[:LATENCY_RELEASES]
    top = max((q[1] for _key, f in ranked for q in f["minutes"].values()), default=0.0)
    ymax = _nice_ceiling(top * 1.1)
    lines = []
    for (release, role), f in ranked:
        values = {int((minute - start).total_seconds() // 60): q for minute, q in f["minutes"].items()}
        values = {i: q for i, q in values.items() if 0 <= i < minutes}
        for k, label in ((0, "p50"), (1, "p95")):
            lines.append({"role": role, "css": f"{role} series-{label}", "name": f"{role} {release[:8]} {label}",
                          "values": {i: q[k] for i, q in values.items()},
                          "note": f"{label} latency of release {release[:12]} ({role}), {f['calls']} calls"})
    return _frame(lines, _marks(flow, start) if marks is None else marks, ymax=ymax,
                  y_label=f"{ymax:,.0f} ms", unit="p50 (dashed) and p95 latency per minute",
                  title="p50 and p95 latency per minute of each release", start=start, end=end, minutes=minutes)


def _nice_ceiling(value: float) -> float:
    """The next of 1, 2, 5 × 10^k at or above ``value`` (at least 10 ms), so the axis reads round."""
    value = max(value, 10.0)
    scale = 10 ** math.floor(math.log10(value))
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= value)


def charts(flow) -> dict[str, Any]:
    """Both charts of a flow, sharing one read of the marks."""
    start, _end = _window(CHART_MINUTES)
    marks = _marks(flow, start)
    return {"chart": chart(flow, marks=marks), "latency_chart": latency_chart(flow, marks=marks)}


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
    return {"flow": flow, "guard": guard, "live": live, **charts(flow), "agreement": agreement,
            "shadow": Shadow.objects.filter(flow=flow).first(), "breaches": Breach.objects.filter(flow=flow)[:10]}
