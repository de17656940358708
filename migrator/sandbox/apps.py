from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Exists only so that ``manage.py sandbox`` is discovered; the app has no models."""

    name = "migrator.sandbox"
    label = "sandbox"
    verbose_name = "OpenAI sandbox"
    default_auto_field = "django.db.models.BigAutoField"
