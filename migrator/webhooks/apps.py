from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "migrator.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # The retry sweeper starts with each Celery worker; cutover events become deliveries. (The job kinds in
        # jobs.py are found by core's autodiscovery.)
        from migrator.core.signals import cutover_event
        from migrator.webhooks import receivers, worker  # noqa: F401 - jobs.py is found by core

        cutover_event.connect(receivers.on_cutover_event, dispatch_uid="migrator.webhooks.cutover_event")
