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
