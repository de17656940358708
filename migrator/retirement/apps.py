from django.apps import AppConfig


class RetirementConfig(AppConfig):
    """Model retirement: the synced model catalogue and its change notices, days left per flow, the autopilot
    that prepares a flow's move to a successor before its model shuts down, and run cost projections."""

    name = "migrator.retirement"
    label = "retirement"
    verbose_name = "Model retirement"
