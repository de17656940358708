"""The tabs on an assistant's pages and the sidebar entries. Each feature app provides the URL names listed
here; an entry whose URL does not resolve (yet) is simply not shown."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    url_name: str
    permission: str = ""


ASSISTANT_TABS = (
    Tab("overview", "Overview", "core:assistant_detail"),
    Tab("usage", "Usage & drift", "inventory:assistant_usage"),
    Tab("prompt", "Prompt", "prompts:assistant_prompt"),
    Tab("tools", "Tools", "flows:assistant_tools"),
    Tab("flows", "Flows", "flows:assistant_flows"),
)

NAV = (
    Tab("dashboard", "Dashboard", "core:dashboard"),
    Tab("assistants", "Assistants", "core:assistant_list", "core.view_assistant"),
    Tab("usage", "Usage", "inventory:usage", "core.view_assistant"),
    Tab("flows", "Flows", "flows:list", "core.view_flow"),
    Tab("imports", "Import", "inventory:import", "core.view_assistant"),
    Tab("models", "Model radar", "inventory:model_radar", "core.view_assistant"),
    Tab("connections", "Connections", "inventory:connection_list", "core.view_connection"),
    Tab("tokens", "API tokens", "flows:token_list", "flows.view_apitoken"),
    Tab("jobs", "Jobs", "core:job_list"),
    Tab("audit", "Audit log", "core:audit_log", "core.view_auditevent"),
    Tab("system", "System", "core:system_status"),
)


def _try_reverse(url_name: str, args: tuple = ()) -> str | None:
    try:
        return reverse(url_name, args=args)
    except NoReverseMatch:
        return None


def assistant_tabs(assistant_id: int, active: str) -> list[dict]:
    tabs = []
    for tab in ASSISTANT_TABS:
        url = _try_reverse(tab.url_name, (assistant_id,))
        if url:
            tabs.append({"key": tab.key, "label": tab.label, "url": url, "active": tab.key == active})
    return tabs


def nav_items(user, active: str) -> list[dict]:
    items = []
    for tab in NAV:
        if tab.permission and not user.has_perm(tab.permission):
            continue
        url = _try_reverse(tab.url_name)
        if url:
            items.append({"key": tab.key, "label": tab.label, "url": url, "active": tab.key == active})
    return items
