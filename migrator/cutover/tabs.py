"""The support lead's inbox in the sidebar, with the number of requests awaiting a decision."""

from migrator.core.navigation import Tab


def _awaiting(user) -> int:
    from migrator.cutover.models import CutoverRequest

    if not user.has_perm("cutover.approve_cutover"):
        return 0
    return CutoverRequest.objects.awaiting().exclude(requested_by=user).count()


NAV = (
    Tab("cutover", "Cutover", "cutover:inbox", "cutover.view_cutoverrequest", order=35, match=(("cutover", ""),),
        badge=_awaiting),
)
