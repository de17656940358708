"""The prompt tab on an assistant's pages and the review inbox (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab


def _waiting_for_me(user) -> int:
    from migrator.prompts.reviews import waiting_count

    return waiting_count(user)


ASSISTANT_TABS = (Tab("prompt", "Prompt", "prompts:assistant_prompt", order=20),)
NAV = (
    Tab("reviews", "Reviews", "prompts:reviews", permission="core.approve_prompt", order=25,
        match=(("prompts", "reviews"),), badge=_waiting_for_me),
)
