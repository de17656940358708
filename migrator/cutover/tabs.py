"""The support lead's inbox in the sidebar, with the number of requests awaiting a decision."""

from migrator.core.navigation import Tab
from migrator.core.next_actions import NextAction


def _awaiting(user) -> int:
    from migrator.cutover.models import CutoverRequest

    if not user.has_perm("cutover.approve_cutover"):
        return 0
    return CutoverRequest.objects.awaiting().exclude(requested_by=user).count()


NAV = (
    Tab("cutover", "Cutover", "cutover:inbox", "cutover.view_cutoverrequest", order=35, match=(("cutover", ""),),
        badge=_awaiting),
)


def _cutovers(user):
    """Support leads: flows whose cutover request waits for their decision (the cutover inbox)."""
    from django.urls import reverse

    from migrator.core.models import Flow
    from migrator.core.next_actions import Suggestion
    from migrator.core.status import FlowStatus

    waiting = Flow.objects.visible_to(user).filter(status=FlowStatus.AWAITING_APPROVAL).count()
    url = reverse("cutover:inbox")
    if waiting:
        return Suggestion(f"{waiting:,} cutover{'s' if waiting != 1 else ''} awaiting your approval",
                          "An engineer put these flows forward with their evidence; approve or decline each.",
                          url, "Review cutovers", waiting)
    return Suggestion("No cutover awaits your approval", "Flows appear here once an engineer requests a cutover.",
                      url, "Open the cutover inbox", 0)


NEXT_ACTIONS = (NextAction("cutovers", "cutover.approve_cutover", build=_cutovers, order=10),)
