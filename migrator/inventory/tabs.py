"""The inventory's sidebar entries and assistant tab (discovered by migrator.core.navigation)."""

from migrator.core import suggest
from migrator.core.navigation import Tab
from migrator.core.next_actions import NextAction

NAV = (
    Tab("usage", "Usage", "inventory:usage", "core.view_assistant", order=20, match=(("inventory", "usage"),)),
    Tab("imports", "Import", "inventory:import", "core.view_assistant", order=40,
        match=(("inventory", "import"), ("inventory", "export"))),
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

# Pages other apps link to by key (migrator.core.navigation.page_url).
PAGES = {"import": "inventory:import", "usage": "inventory:usage"}


# Search suggestions other apps' forms use (``core.suggest``): the flow slugs imported threads name.
def _flow_slugs(user, text: str):
    """Flow slugs named by imported threads (a backfill selects threads by slug, flow or not): distinct values
    read in index order from ``flow_slug``'s index, one page at a time."""
    from migrator.inventory.models import LegacyThread

    if not user.has_perm("backfill.view_backfillrun") and not user.has_perm("core.view_flow"):
        return LegacyThread.objects.none().values_list("flow_slug", flat=True)
    qs = LegacyThread.objects.exclude(flow_slug="")
    if text:
        qs = qs.filter(flow_slug__startswith=text.lower())
    return qs.order_by("flow_slug").values_list("flow_slug", flat=True).distinct()


suggest.register("flow-slugs", suggest.Kind(_flow_slugs, lambda slug: suggest.Suggestion(slug, slug),
                                            lambda user, v: suggest.Suggestion(v, v)))
