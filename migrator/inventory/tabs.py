"""The inventory's sidebar entries and assistant tab (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab

NAV = (
    Tab("usage", "Usage", "inventory:usage", "core.view_assistant", order=20, match=(("inventory", "usage"),)),
    Tab("imports", "Import", "inventory:import", "core.view_assistant", order=40, match=(("inventory", "import"),)),
    Tab("models", "Model radar", "inventory:model_radar", "core.view_assistant", order=50,
        match=(("inventory", "model_radar"),)),
    Tab("connections", "Connections", "inventory:connection_list", "core.view_connection", order=60,
        match=(("inventory", "connection"),)),
)

ASSISTANT_TABS = (Tab("usage", "Usage & drift", "inventory:assistant_usage", order=10),)
