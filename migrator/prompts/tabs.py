"""The prompt tab on an assistant's pages and the review inbox (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab
from migrator.core.next_actions import NextAction


def _waiting_for_me(user) -> int:
    from migrator.prompts.reviews import waiting_count

    return waiting_count(user)


ASSISTANT_TABS = (Tab("prompt", "Prompt", "prompts:assistant_prompt", order=20),)
NAV = (
    Tab("reviews", "Reviews", "prompts:reviews", permission="core.approve_prompt", order=25,
        match=(("prompts", "reviews"),), badge=_waiting_for_me),
)


def _reviews(user):
    """Product owners: prompt versions waiting for their review, else drafts nobody asked about yet."""
    from django.urls import reverse

    from migrator.core.models import Assistant
    from migrator.core.next_actions import Suggestion
    from migrator.core.status import MigrationStatus

    waiting = _waiting_for_me(user)
    if waiting:
        return Suggestion(f"{waiting:,} prompt version{'s' if waiting != 1 else ''} awaiting your review",
                          "Someone asked you (or every product owner) to review and approve them.",
                          reverse("prompts:reviews"), "Review prompts", waiting)
    drafts = Assistant.objects.visible_to(user).filter(status=MigrationStatus.PROMPT_DRAFTED).count()
    url = reverse("core:assistant_list") + f"?status={MigrationStatus.PROMPT_DRAFTED}"
    if drafts:
        return Suggestion(f"{drafts:,} drafted prompt{'s' if drafts != 1 else ''} to review",
                          "Nobody asked for these reviews yet; read each draft's ledger and approve what is right.",
                          url, "Review drafts", drafts)
    return Suggestion("No prompt waits for your review", "Drafts appear here once they are generated or edited.",
                      url, "See drafted prompts", 0)


NEXT_ACTIONS = (NextAction("reviews", "core.approve_prompt", build=_reviews, order=10),)

# Pages other apps link to by key (migrator.core.navigation.page_url).
PAGES = {"try_live": "prompts:try_live", "convert": "prompts:convert"}
