from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "migrator.core"
    label = "core"
    verbose_name = "Migration core"

    def ready(self) -> None:
        # The Celery app is loaded here rather than in migrator/__init__.py, so that importing any migrator
        # module (the sandbox above all) does not drag in Celery and Django settings; shared tasks bind to it.
        from migrator import celery  # noqa: F401
        from migrator.core import checks, registries, roles, tally, worker  # noqa: F401 - worker connects Celery signals

        registries.autodiscover()  # every app's jobs, roles, tabs, activity, evidence, diagnostics and demo modules
        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="migrator.core.roles.sync")
        # The assistant tally's triggers: installed, or put back after a migration rebuilt the table (SQLite).
        post_migrate.connect(tally.ensure_after_migrate, sender=self, dispatch_uid="migrator.core.tally.ensure")
