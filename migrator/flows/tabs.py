"""Flows' sidebar entries and assistant tabs (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab
from migrator.core.next_actions import NextAction

NAV = (
    Tab("flows", "Flows", "flows:list", "core.view_flow", order=30, match=(("flows", ""),)),
    Tab("tokens", "API tokens", "flows:token_list", "flows.view_apitoken", order=70, match=(("flows", "token"),)),
)

ASSISTANT_TABS = (
    Tab("flows", "Flows", "flows:assistant_flows", order=40),
)


def _to_validate(user):
    """Engineers: flows whose assistant has an approved prompt but are still being planned."""
    from django.urls import reverse

    from migrator.core.models import Flow
    from migrator.core.next_actions import Suggestion
    from migrator.core.status import FlowStatus, MigrationStatus

    flows = Flow.objects.visible_to(user).filter(status=FlowStatus.PLANNING,
                                                 assistant__status=MigrationStatus.PROMPT_APPROVED)
    count = flows.count()
    url = reverse("flows:list") + f"?status={FlowStatus.PLANNING}"
    if count:
        return Suggestion(f"{count:,} flow{'s' if count != 1 else ''} to validate",
                          "Their prompts are approved: choose the state mode, test the tools and validate.",
                          url, "Validate flows", count)
    return None


NEXT_ACTIONS = (NextAction("validate", "core.change_flow", build=_to_validate, order=20),)

# Pages other apps link to by key (migrator.core.navigation.page_url).
PAGES = {"flow": "flows:detail", "flow_list": "flows:list", "assistant_flows": "flows:assistant_flows"}
