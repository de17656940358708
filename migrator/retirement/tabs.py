"""The Models sidebar entry (with the number of open catalogue notices) and the engineers' inbox item."""

import contextlib

from migrator.core.navigation import Tab
from migrator.core.next_actions import DashboardPanel, FlowDeadlines, NextAction


def open_count(user) -> int:
    from migrator.retirement.models import CatalogueNotice

    if not user.has_perm("retirement.view_cataloguenotice"):
        return 0
    # The sidebar badge and the dashboard's next step both ask: one query per request (the user object is).
    cached = getattr(user, "_open_catalogue_notices", None)
    if cached is None:
        cached = CatalogueNotice.objects.filter(acknowledged_at__isnull=True).count()
        with contextlib.suppress(AttributeError):  # an object that takes no attributes: ask again next time
            user._open_catalogue_notices = cached
    return cached


def _notices(user):
    from django.urls import reverse

    from migrator.core.next_actions import Suggestion

    count = open_count(user)
    if not count:
        return None
    return Suggestion(f"{count} model catalogue notice{'s' if count != 1 else ''}",
                      "A named successor changed or a shutdown date appeared: check the flows each one lists.",
                      reverse("retirement:notices"), "Read the notices", count)


NAV = (
    Tab("models", "Models", "retirement:catalogue", "retirement.view_catalogueentry", order=75,
        match=(("retirement", ""),), badge=open_count),
)

NEXT_ACTIONS = (NextAction("catalogue-notices", "retirement.change_cataloguenotice", build=_notices, order=5),)


def _notice_panel(user) -> dict | None:
    from migrator.retirement.models import CatalogueNotice

    count = open_count(user)
    if not count:
        return None
    notices = list(CatalogueNotice.objects.filter(acknowledged_at__isnull=True)[:5])
    return {"notices": notices, "more": max(0, count - len(notices))}




def _days_panel(user) -> dict | None:
    """The flows whose model shuts down soonest (the catalogue as last synced), with days left; red if late."""
    from django.utils import timezone

    from migrator.core.models import Flow
    from migrator.retirement.services.exposure import flow_deadlines, soonest_flow_ids

    visible = Flow.objects.visible_to(user)
    ids = [] if visible.query.is_empty() else soonest_flow_ids(8)
    if not ids:
        return None
    flows = list(visible.select_related("assistant").filter(pk__in=ids))
    deadlines = flow_deadlines(flows)
    today = timezone.localdate()
    rows = [{"flow": f, "deadline": deadlines[f.pk]} for f in flows]
    rows.sort(key=lambda r: (r["deadline"].days_left(today) is None, r["deadline"].days_left(today) or 0))
    return {"rows": rows, "today": today, "late": sum(1 for r in rows if r["deadline"].late(today))}


DASHBOARD_PANELS = (
    DashboardPanel("catalogue-notices", "retirement.view_cataloguenotice", "retirement/panel_notices.html",
                   build=_notice_panel, order=10),
    DashboardPanel("days-left", "core.view_flow", "retirement/panel_days_left.html", build=_days_panel, order=20),
)


def _order(qs):
    from migrator.retirement.services.exposure import order_by_days_left

    return order_by_days_left(qs)


def _deadlines(flows) -> dict:
    """{flow id: {days, late, title}}: what the flows list shows (its template knows nothing of this app)."""
    from django.utils import timezone

    from migrator.retirement.services.exposure import flow_deadlines

    today = timezone.localdate()
    out = {}
    for flow_id, d in flow_deadlines(flows).items():
        days = d.days_left(today)
        title = (f"{d.model or 'no model'}: no shutdown announced" if days is None else
                 f"{d.model} shuts down on {d.shutdown_date:%Y-%m-%d} ({d.info.source_label})"
                 + (f"; successor {d.successor}" if d.successor else "")
                 + (f"; moving to {d.moving_to}" if d.moving_to else "")
                 + f"; the move still needs about {d.days_needed} days")
        out[flow_id] = {"days": days, "late": d.late(today), "title": title}
    return out


FLOW_DEADLINES = FlowDeadlines(order=_order, deadlines=_deadlines)
