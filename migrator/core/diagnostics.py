"""The diagnostics registry: checks (per flow, or for the whole system) and data providers, from every app.

An app adds checks in ``<app>/diagnostics.py`` (imported by ``CoreConfig.ready`` like every registry's
modules, see :mod:`migrator.core.registries`; never listed)::

    from migrator.core.diagnostics import Finding, flow_check, system_check

    @flow_check("history_broken", title="Conversation history", group="History feels broken")
    def history(flow) -> Finding:
        return Finding.warn("…", evidence={...}, fix_url=…)

A check returns one :class:`Finding` (or None when it does not apply). A check that raises is reported as
``unknown`` with the error, so one broken check never hides the others or breaks a page.

An app can also *provide* data other apps' checks use, without either importing the other::

    @provider("backfill.coverage")
    def coverage(flow) -> dict | None: ...

and a check asks ``get_provider("backfill.coverage")``, which is None while no installed app provides it
(the check then says "unknown — backfill not available" instead of guessing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

OK, WARN, FAIL, UNKNOWN = "ok", "warn", "fail", "unknown"
STATUSES = (OK, WARN, FAIL, UNKNOWN)
# Worst first, for sorting and for the summary badge.
SEVERITY = {FAIL: 0, WARN: 1, UNKNOWN: 2, OK: 3}


@dataclass
class Finding:
    status: str
    summary: str
    evidence: dict[str, Any] | list[Any] = field(default_factory=dict)
    fix_url: str = ""
    fix_label: str = ""
    # Set when the data belongs to an app that is not installed (``unknown`` for want of a provider, not for
    # want of data): cutover evidence leaves these to that app's own required evidence item.
    unavailable: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"A finding's status is one of {STATUSES}, not {self.status!r}.")

    @classmethod
    def ok(cls, summary: str, **kw: Any) -> Finding:
        return cls(OK, summary, **kw)

    @classmethod
    def warn(cls, summary: str, **kw: Any) -> Finding:
        return cls(WARN, summary, **kw)

    @classmethod
    def fail(cls, summary: str, **kw: Any) -> Finding:
        return cls(FAIL, summary, **kw)

    @classmethod
    def unknown(cls, summary: str, **kw: Any) -> Finding:
        return cls(UNKNOWN, summary, **kw)

    @classmethod
    def not_available(cls, what: str, summary: str, **kw: Any) -> Finding:
        """``unknown — <what> not available: …``: no installed app provides the data this check needs."""
        return cls(UNKNOWN, f"unknown — {what} not available: {summary}", unavailable=what, **kw)


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    scope: str  # "flow" or "system"
    func: Callable[..., Finding | None]
    group: str = ""
    order: int = 100
    app: str = ""


@dataclass
class Result:
    """A check's outcome as pages, the command and its JSON show it."""

    key: str
    title: str
    status: str
    summary: str
    evidence: dict[str, Any] | list[Any]
    fix_url: str
    fix_label: str = ""
    group: str = ""
    unavailable: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "status": self.status, "summary": self.summary,
                "evidence": self.evidence, "fix_url": self.fix_url}


_checks: dict[tuple[str, str], Check] = {}
_providers: dict[str, Callable[..., Any]] = {}


def _register(scope: str, key: str, title: str, group: str, order: int) -> Callable:
    def decorate(func: Callable[..., Finding | None]) -> Callable[..., Finding | None]:
        module = getattr(func, "__module__", "")
        _checks[(scope, key)] = Check(key=key, title=title, scope=scope, func=func, group=group, order=order,
                                      app=module.rsplit(".diagnostics", 1)[0])
        return func

    return decorate


def flow_check(key: str, *, title: str, group: str = "", order: int = 100) -> Callable:
    """Register ``func(flow) -> Finding | None`` as a per-flow check (a later registration of a key wins)."""
    return _register("flow", key, title, group, order)


def system_check(key: str, *, title: str, order: int = 100) -> Callable:
    """Register ``func() -> Finding | None`` as a system check."""
    return _register("system", key, title, "", order)


def provider(name: str) -> Callable:
    """Register a data provider other apps' checks may look up by ``name``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        _providers[name] = func
        return func

    return decorate


def pass_cache(flow) -> dict[Any, Any]:
    """A dict for memoising what several checks of one ``run_flow`` pass ask; outside a pass, a fresh one (so
    nothing is remembered between passes or calls)."""
    cache = getattr(flow, "_diagnostics_pass", None)
    return cache if cache is not None else {}


def get_provider(name: str) -> Callable[..., Any] | None:
    return _providers.get(name)


def checks(scope: str) -> list[Check]:
    return sorted((c for c in _checks.values() if c.scope == scope), key=lambda c: (c.order, c.key))


def run(check: Check, *args: Any) -> Result | None:
    try:
        finding = check.func(*args)
    except Exception as exc:  # a broken check must not hide the others or break the page
        logger.exception("diagnostic check %s failed", check.key)
        finding = Finding.unknown(f"The check itself failed: {type(exc).__name__}: {exc}")
    if finding is None:
        return None
    return Result(key=check.key, title=check.title, status=finding.status, summary=finding.summary,
                  evidence=finding.evidence, fix_url=finding.fix_url, fix_label=finding.fix_label, group=check.group,
                  unavailable=finding.unavailable)


def run_system() -> list[Result]:
    return [r for r in (run(c) for c in checks("system")) if r is not None]


def run_flow(flow, *, version=None) -> list[Result]:
    """Every flow check for ``flow``; ``version`` pins the candidate (default: the version under review)."""
    if version is not None:
        flow._diagnostics_candidate = version  # read by checks.data.candidate_version
    flow._diagnostics_pass = {}  # providers may memoise here for this pass only (see pass_cache)
    return [r for r in (run(c, flow) for c in checks("flow")) if r is not None]


def worst(results: list[Result]) -> str:
    if not results:
        return UNKNOWN
    return min((r.status for r in results), key=lambda s: SEVERITY[s])


def counts(results: list[Result]) -> dict[str, int]:
    tally = dict.fromkeys(STATUSES, 0)
    for r in results:
        tally[r.status] += 1
    return tally
