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
    """Support leads: assistants whose validation passed wait for their cutover approval."""
    from django.urls import NoReverseMatch, reverse

    from migrator.core.models import Assistant
    from migrator.core.next_actions import Suggestion
    from migrator.core.status import MigrationStatus

    waiting = Assistant.objects.visible_to(user).filter(status=MigrationStatus.VALIDATED).count()
    try:  # the cutover inbox, where it exists; otherwise the validated assistants
        url = reverse("cutover:inbox")
    except NoReverseMatch:
        url = reverse("core:assistant_list") + f"?status={MigrationStatus.VALIDATED}"
    if waiting:
        return Suggestion(f"{waiting:,} cutover{'s' if waiting != 1 else ''} awaiting your approval",
                          "Validation passed for these assistants; approving the cutover lets engineers move "
                          "production to the approved prompt.", url, "Review cutovers", waiting)
    return Suggestion("No cutover awaits your approval", "Assistants appear here once their validation passes.",
                      url, "See validated assistants", 0)


NEXT_ACTIONS = (NextAction("cutovers", "core.approve_cutover", build=_cutovers, order=10),)
