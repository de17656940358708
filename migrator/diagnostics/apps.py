from django.apps import AppConfig


class DiagnosticsConfig(AppConfig):
    name = "migrator.diagnostics"
    label = "diagnostics"
    verbose_name = "Diagnostics"
