"""Background jobs, one direction: registry → context → runner → task (``migrator.core.tasks``).

- ``registry``: job kinds declared with ``@job_handler`` (no models, importable from anywhere).
- ``queues``: the installation's queue name, derived from its database.
- ``context``: the :class:`~migrator.core.jobs.context.JobContext` a handler gets.
- ``runner``: claims a job with its token, runs the handler with a heartbeat, records the outcome.
- ``handlers``: core's own job kinds.

Every app's ``jobs`` module is imported by ``autodiscover_modules("jobs")`` from ``CoreConfig.ready``; this
package is core's. Services that start, cancel and reap jobs live in ``migrator.core.services.jobs``.
"""

from migrator.core.jobs import handlers  # noqa: F401 - registers core's job kinds
from migrator.core.jobs.registry import JobHandler, job_handler, registry

__all__ = ["JobHandler", "job_handler", "registry"]
