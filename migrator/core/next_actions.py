"""The dashboard leads with each role's own next action, declared by the app that owns the work.

An app lists ``NEXT_ACTIONS`` in its ``tabs.py`` (autodiscovered like the sidebar)::

    NEXT_ACTIONS = (NextAction("reviews", "core.approve_prompt", build=_reviews, order=10),)

``build(user)`` returns a :class:`Suggestion` or None (nothing to do). The dashboard shows every suggestion
the user's permissions allow, most urgent first (those with work waiting before those without), and makes
the first one its main button.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from migrator.core.registries import app_modules


@dataclass(frozen=True)
class Suggestion:
    title: str  # "3 prompt versions wait for your review"
    detail: str  # one sentence: why it matters / what happens next
    url: str
    button: str  # "Review them"
    count: int = 0  # 0 = nothing waiting, shown after those with work


@dataclass(frozen=True)
class NextAction:
    key: str
    permission: str
    build: Callable[..., Suggestion | None] = field(compare=False)
    order: int = 100


@cache
def _discovered() -> tuple[NextAction, ...]:
    found: list[NextAction] = []
    for module in app_modules("tabs"):
        found.extend(getattr(module, "NEXT_ACTIONS", ()))
    return tuple(sorted(found, key=lambda a: (a.order, a.key)))


def suggestions_for(user) -> list[Suggestion]:
    out: list[tuple[int, int, Suggestion]] = []
    for index, action in enumerate(_discovered()):
        if action.permission and not user.has_perm(action.permission):
            continue
        suggestion = action.build(user)
        if suggestion is not None:
            out.append((0 if suggestion.count else 1, index, suggestion))
    return [s for _, _, s in sorted(out, key=lambda t: (t[0], t[1]))]


@dataclass(frozen=True)
class DashboardPanel:
    """A card an app adds to the dashboard: ``build(user)`` returns the template's context, or None to hide it.
    Declared as ``DASHBOARD_PANELS`` in the app's ``tabs`` module, so core never imports the app."""

    key: str
    permission: str
    template: str
    build: Callable[..., dict | None] = field(compare=False)
    order: int = 100


@cache
def _panels() -> tuple[DashboardPanel, ...]:
    found: list[DashboardPanel] = []
    for module in app_modules("tabs"):
        found.extend(getattr(module, "DASHBOARD_PANELS", ()))
    return tuple(sorted(found, key=lambda p: (p.order, p.key)))


def panels_for(user) -> list[dict]:
    """[{template, data}] for each panel the user may see and that has something to show."""
    out = []
    for panel in _panels():
        if panel.permission and not user.has_perm(panel.permission):
            continue
        data = panel.build(user)
        if data is not None:
            out.append({"key": panel.key, "template": panel.template, "data": data})
    return out


@dataclass(frozen=True)
class FlowDeadlines:
    """Days left per flow, from the app that keeps the model catalogue: ``order(qs)`` sorts flows soonest shutdown
    first in the database, ``deadlines(flows)`` answers {flow id: deadline} for a page. Declared as
    ``FLOW_DEADLINES`` in that app's ``tabs`` module, so the flows pages ask without importing it."""

    order: Callable[..., object] = field(compare=False)
    deadlines: Callable[..., dict] = field(compare=False)


@cache
def flow_deadlines() -> FlowDeadlines | None:
    for module in app_modules("tabs"):
        found = getattr(module, "FLOW_DEADLINES", None)
        if found is not None:
            return found
    return None
