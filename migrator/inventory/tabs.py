"""The inventory's sidebar entries and assistant tab (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab
from migrator.core.next_actions import NextAction

NAV = (
    Tab("usage", "Usage", "inventory:usage", "core.view_assistant", order=20, match=(("inventory", "usage"),)),
    Tab("imports", "Import", "inventory:import", "core.view_assistant", order=40, match=(("inventory", "import"),)),
    Tab("models", "Model radar", "inventory:model_radar", "core.view_assistant", order=50,
        match=(("inventory", "model_radar"),)),
    Tab("connections", "Connections", "inventory:connection_list", "core.view_connection", order=60,
        match=(("inventory", "connection"),)),
)

ASSISTANT_TABS = (Tab("usage", "Usage & drift", "inventory:assistant_usage", order=10),)


def _import(user):
    """Engineers: an empty inventory is the first thing to fix; otherwise re-import picks up upstream changes."""
    from django.urls import reverse

    from migrator.core.models import Assistant
    from migrator.core.next_actions import Suggestion

    if not Assistant.objects.visible_to(user).exists():
        return Suggestion("Import your assistants", "Start from a connection or an export archive; everything else "
                          "builds on the inventory.", reverse("inventory:import"), "Import assistants", 1)
    return Suggestion("Import again", "Re-importing picks up upstream changes (drift) and new threads.",
                      reverse("inventory:import"), "Import assistants", 0)


NEXT_ACTIONS = (NextAction("import", "inventory.import_assistants", build=_import, order=30),)
