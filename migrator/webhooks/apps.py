from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "migrator.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # The job layer discovers core apps' handlers itself; a new app registers its own on start-up, so
        # every process (web, worker, commands) knows the webhook job kinds without editing core.
        from migrator.core.signals import cutover_event
        from migrator.webhooks import jobs, receivers, worker  # noqa: F401

        cutover_event.connect(receivers.on_cutover_event, dispatch_uid="migrator.webhooks.cutover_event")
