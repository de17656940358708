from django.apps import AppConfig


class ValidationConfig(AppConfig):
    name = "migrator.validation"
    label = "validation"
    verbose_name = "Validation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from migrator.core.services.status import register_busy_flows

        from .models import RunStatus, ValidationRun

        def busy_flows(assistant_ids: list[int]) -> set[int]:
            return set(ValidationRun.objects.filter(
                assistant_id__in=assistant_ids, flow__isnull=False,
                status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).values_list("flow_id", flat=True))

        register_busy_flows(busy_flows)
