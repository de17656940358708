from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "migrator.prompts"
    label = "prompts"
