"""The sidebar and the assistant tabs, gathered from every app's ``tabs.py`` (autodiscovered, never listed).

An app declares ``NAV`` (sidebar entries) and ``ASSISTANT_TABS`` (tabs on an assistant's pages) as tuples of
:class:`Tab`. ``order`` sorts entries across apps; ``match`` says which URL names light the entry up, as
``(namespace, url-name prefix)`` pairs (the most specific prefix wins). An entry whose URL does not resolve is
not shown; an entry with a ``permission`` is shown only to users who hold it. ``badge`` names a callable
``(user) -> int`` whose non-zero answer is shown beside the entry (for example "awaiting your approval").

An app also names its pages that other apps link to, as ``PAGES = {"flow": "<namespace>:detail", ...}``; others ask
:func:`page_url` (or ``{% page_url "flow" slug %}``) by that key, so linking to a page is not a dependency on
the app that serves it, and a page whose app is not installed is simply not linked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from django.urls import NoReverseMatch, reverse

from migrator.core.registries import app_modules


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    url_name: str
    permission: str = ""
    order: int = 100
    match: tuple[tuple[str, str], ...] = ()
    badge: Callable[..., int] | None = field(default=None, compare=False)


@cache
def _discovered() -> tuple[tuple[Tab, ...], tuple[Tab, ...]]:
    nav: list[Tab] = []
    assistant: list[Tab] = []
    for module in app_modules("tabs"):
        nav.extend(getattr(module, "NAV", ()))
        assistant.extend(getattr(module, "ASSISTANT_TABS", ()))
    key = lambda t: (t.order, t.key)  # noqa: E731 - stable across apps
    return tuple(sorted(nav, key=key)), tuple(sorted(assistant, key=key))


@cache
def _pages() -> dict[str, str]:
    pages: dict[str, str] = {}
    for module in app_modules("tabs"):
        pages.update(getattr(module, "PAGES", {}))
    return pages


def page_url(key: str, *args: object) -> str | None:
    """The URL of the page an app declared as ``key`` in its ``tabs.PAGES``; None when no installed app has it."""
    url_name = _pages().get(key)
    return _try_reverse(url_name, tuple(args)) if url_name else None


def nav_tabs() -> tuple[Tab, ...]:
    return _discovered()[0]


def assistant_tab_list() -> tuple[Tab, ...]:
    return _discovered()[1]


def _try_reverse(url_name: str, args: tuple = ()) -> str | None:
    try:
        return reverse(url_name, args=args)
    except NoReverseMatch:
        return None


def assistant_tabs(assistant_id: int, active: str) -> list[dict]:
    tabs = []
    for tab in assistant_tab_list():
        url = _try_reverse(tab.url_name, (assistant_id,))
        if url:
            tabs.append({"key": tab.key, "label": tab.label, "url": url, "active": tab.key == active})
    return tabs


def active_nav_key(namespace: str, url_name: str) -> str:
    """The sidebar entry lit for a URL: the entry whose ``match`` has the longest matching prefix."""
    best, best_len = "", -1
    for tab in nav_tabs():
        for ns, prefix in tab.match:
            if ns == namespace and url_name.startswith(prefix) and len(prefix) > best_len:
                best, best_len = tab.key, len(prefix)
    return best


def nav_items(user, active: str) -> list[dict]:
    items = []
    for tab in nav_tabs():
        if tab.permission and not user.has_perm(tab.permission):
            continue
        url = _try_reverse(tab.url_name)
        if url:
            count = tab.badge(user) if tab.badge else 0
            items.append({"key": tab.key, "label": tab.label, "url": url, "active": tab.key == active,
                          "badge": count})
    return items
