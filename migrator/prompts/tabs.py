"""The prompt tab on an assistant's pages (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab

ASSISTANT_TABS = (Tab("prompt", "Prompt", "prompts:assistant_prompt", order=20),)
