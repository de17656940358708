from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "migrator.inventory"
    label = "inventory"
