"""``{% rollout_panel flow %}`` on the cutover page and ``{% open_breaches %}`` in the cutover inbox."""

from __future__ import annotations

from django import template

from migrator.rollouts import selectors

register = template.Library()


@register.inclusion_tag("rollouts/_panel.html", takes_context=True)
def rollout_panel(context, flow):
    user = context["request"].user
    return {**selectors.panel(flow), "can_set": user.has_perm("cutover.ramp_cutover"), "request": context["request"],
            "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("rollouts/_breaches.html", takes_context=True)
def open_breaches(context):
    request = context["request"]
    from migrator.core.models import Flow

    visible = Flow.objects.visible_to(request.user)
    return {"breaches": list(selectors.open_breaches(visible)[:20]), "request": request,
            "can_ack": request.user.has_perm("cutover.ramp_cutover"), "csrf_token": context.get("csrf_token")}
