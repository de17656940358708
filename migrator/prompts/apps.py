from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "migrator.prompts"
    label = "prompts"
    verbose_name = "Prompts"

    def ready(self) -> None:
        from migrator.core.signals import assistant_definition_changed
        from migrator.prompts import receivers

        assistant_definition_changed.connect(
            receivers.regenerate_after_drift, dispatch_uid="migrator.prompts.regenerate_after_drift"
        )
