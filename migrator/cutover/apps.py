from django.apps import AppConfig


class CutoverConfig(AppConfig):
    name = "migrator.cutover"
    label = "cutover"
    verbose_name = "Cutover"

    def ready(self) -> None:
        from migrator.cutover import receivers  # noqa: F401 - voids stale requests when evidence changes
