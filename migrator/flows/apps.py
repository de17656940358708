from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "migrator.flows"
    label = "flows"
