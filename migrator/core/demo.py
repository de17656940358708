"""The demo registry: every app's ``demo.py`` defines ``seed_demo(*, connection, users) -> str`` (a one-line summary),
and ``manage.py seed_demo`` runs them in INSTALLED_APPS order, each on top of every step before it, through the
same services people use. The modules are imported by ``CoreConfig.ready`` (:mod:`migrator.core.registries`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from migrator.core.registries import app_modules


def seed_all(*, connection: Any, users: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Run each app's demo step; yields (app label, summary) as each finishes."""
    for module in app_modules("demo"):
        if module.__name__ == __name__:
            continue  # this registry is core's ``demo`` module
        yield module.__name__.split(".")[-2], module.seed_demo(connection=connection, users=users)
