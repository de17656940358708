from __future__ import annotations

from django.urls import NoReverseMatch, reverse


def url(name: str, *args: object, query: str = "", anchor: str = "") -> str:
    """A fix link, or "" when the page does not exist in this installation."""
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return path + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


def ago(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
