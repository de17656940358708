from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "migrator.flows"
    label = "flows"

    def ready(self) -> None:
        from migrator.flows import worker  # noqa: F401 - connects the Celery signals of the traffic flush loop
