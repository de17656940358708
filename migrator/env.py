"""Typed environment readers that fail loudly.

Every setting migrator reads from the environment goes through one of these helpers, so a typo such as
``DEBUG=ture`` stops start-up with a message naming the variable instead of silently meaning "False".
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_MISSING = object()


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | object | None = _MISSING) -> str:
    value = _raw(name)
    if value is None or value == "":
        if default is _MISSING:
            raise ImproperlyConfigured(f"Environment variable {name} is required but not set.")
        return default  # type: ignore[return-value]
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not a boolean (use true/false, 1/0).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not an integer.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"Environment variable {name}={number} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str], *, sep: str = ",") -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(sep) if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = (_raw(name) or default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} must be one of {sorted(choices)}.")
    return value


def parse_database_url(url: str, *, name: str = "DATABASE_URL") -> dict[str, object]:
    """A Django DATABASES entry from ``postgres://user:pass@host:port/db?sslmode=require`` or ``sqlite:///path``.

    dj-database-url does the parsing, so the query string's options (``sslmode``, ``connect_timeout``,
    ``sslrootcert``, ...) reach psycopg as ``OPTIONS``: a hand-written parser once dropped them, which turned
    TLS to the database off without a word. Only the two engines migrator supports are accepted.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in {"sqlite", "sqlite3"}:
        config = dj_database_url.parse(url.replace(f"{scheme}:", "sqlite:", 1))
        if not config.get("NAME") or str(config["NAME"]) in {"/", ":memory:"}:
            raise ImproperlyConfigured(f"{name}={url!r} names no SQLite file.")
        return config
    if scheme in {"postgres", "postgresql", "pgsql"}:
        # Connections are kept for a minute and checked before reuse (a restarted server costs one retry).
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} names no database (expected postgres://user@host:5432/dbname).")
        config["PORT"] = str(config.get("PORT") or "")
        return config
    raise ImproperlyConfigured(f"{name} has unsupported scheme {scheme!r}; use postgres:// or sqlite:///.")
