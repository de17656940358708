from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "migrator.core"
    label = "core"
    verbose_name = "Migration core"

    def ready(self) -> None:
        # The Celery app is loaded here rather than in migrator/__init__.py, so that importing any migrator
        # module (the sandbox above all) does not drag in Celery and Django settings; shared tasks bind to it.
        from django.utils.module_loading import autodiscover_modules

        from migrator import celery  # noqa: F401
        from migrator.core import checks, roles, worker  # noqa: F401 - worker connects Celery signals; checks registers

        autodiscover_modules("jobs")  # each app's job kinds register themselves with @job_handler
        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="migrator.core.roles.sync")
