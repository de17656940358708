from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "migrator.inventory"
    label = "inventory"

    def ready(self) -> None:
        from migrator.core import model_catalog
        from migrator.inventory.models_radar import model_states

        # Core pages then show shutdown dates that connections reported, not only the shipped table.
        model_catalog.register_resolver(model_states)
