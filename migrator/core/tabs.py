"""Core's sidebar entries and assistant tab (see migrator.core.tabs for how apps declare theirs)."""

from migrator.core.navigation import Tab
from migrator.core.next_actions import NextAction

NAV = (
    Tab("dashboard", "Dashboard", "core:dashboard", order=0, match=(("core", "dashboard"),)),
    Tab("assistants", "Assistants", "core:assistant_list", "core.view_assistant", order=10,
        match=(("core", "assistant"), ("inventory", "assistant"), ("prompts", ""), ("tools", ""), ("flows", "assistant"))),
    Tab("jobs", "Jobs", "core:job_list", order=900, match=(("core", "job"),)),
    Tab("audit", "Audit log", "core:audit_log", "core.view_auditevent", order=910, match=(("core", "audit"),)),
    Tab("system", "System", "core:system_status", order=920, match=(("core", "system"),)),
)

ASSISTANT_TABS = (Tab("overview", "Overview", "core:assistant_detail", order=0),)


def _cutovers(user):
    """Support leads: flows whose cutover request waits for their decision (the cutover inbox)."""
    from django.urls import NoReverseMatch, reverse

    from migrator.core.models import Flow
    from migrator.core.next_actions import Suggestion
    from migrator.core.status import FlowStatus

    waiting = Flow.objects.visible_to(user).filter(status=FlowStatus.AWAITING_APPROVAL).count()
    try:  # the cutover inbox, where that app is installed; otherwise the flows awaiting approval
        url = reverse("cutover:inbox")
    except NoReverseMatch:
        url = reverse("flows:list") + f"?status={FlowStatus.AWAITING_APPROVAL}"
    if waiting:
        return Suggestion(f"{waiting:,} cutover{'s' if waiting != 1 else ''} awaiting your approval",
                          "An engineer put these flows forward with their evidence; approve or decline each.",
                          url, "Review cutovers", waiting)
    return Suggestion("No cutover awaits your approval", "Flows appear here once an engineer requests a cutover.",
                      url, "Open the cutover inbox", 0)


NEXT_ACTIONS = (NextAction("cutovers", "cutover.approve_cutover", build=_cutovers, order=10),)
