"""The registry of background job kinds.

Each app declares its handlers in ``<app>/jobs.py`` with ``@job_handler("kind", label=...)``. A handler
receives a :class:`JobContext` and returns a JSON-able result dict. The single Celery task
(``migrator.core.tasks.run_job``) only looks the handler up and runs it: tasks stay thin and take ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrator.core.services.jobs import JobContext


@dataclass(frozen=True)
class JobHandler:
    kind: str
    label: str
    func: Callable[[JobContext], dict[str, Any] | None]


registry: dict[str, JobHandler] = {}


def job_handler(kind: str, *, label: str) -> Callable:
    def decorate(func: Callable[[JobContext], dict[str, Any] | None]) -> Callable:
        registry[kind] = JobHandler(kind=kind, label=label, func=func)
        return func

    return decorate


def autodiscover() -> None:
    for module_name in ("migrator.core.job_handlers", "migrator.inventory.jobs", "migrator.prompts.jobs",
                        "migrator.tools.jobs"):
        try:
            import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
