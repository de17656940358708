from django.apps import AppConfig


class ToolsConfig(AppConfig):
    """The tools step: each tool of a prompt version converted, tested on its own, and its resources checked."""

    name = "migrator.tools"
    label = "tools"
    verbose_name = "Tools"
