from django.apps import AppConfig


class RolloutsConfig(AppConfig):
    name = "migrator.rollouts"
    label = "rollouts"
    verbose_name = "Guarded rollouts"

    def ready(self) -> None:
        from migrator.rollouts import receivers, worker  # noqa: F401 - the cutover's hooks; the worker's loop
