"""Cutover evidence from prompt review: the requested version is the approved one (see migrator.cutover)."""

from __future__ import annotations

from django.urls import reverse

from migrator.core.evidence import Item, State, provider
from migrator.prompts.models import LabelName, PromptLabel
from migrator.prompts.successor import is_successor_move


@provider("prompt", title="Approved prompt version", order=10)
def approved_version(*, flow, version, config_hash: str) -> Item:
    url = reverse("prompts:assistant_prompt", args=[flow.assistant_id])
    label = PromptLabel.objects.filter(assistant_id=flow.assistant_id, name=LabelName.APPROVED).first()
    if version.approved_at is None and label is not None and is_successor_move(version, version.parent) \
            and version.parent_id == label.version_id:
        return Item("prompt", "Approved prompt version", State.PASSED,
                    f"v{version.number} is the approved v{version.parent.number} moved from "
                    f"{version.parent.config.get('model')} to its successor {version.config.get('model')}; only the "
                    "model and its reasoning settings changed (see the ledger). The support lead's decision covers "
                    "the move.", url=url, details={"version": version.number, "successor_of": version.parent.number})
    if version.approved_at is None:
        return Item("prompt", "Approved prompt version", State.FAILED,
                    f"v{version.number} is not approved: a product owner approves it on the Prompt tab.", url=url)
    if label is None or label.version_id != version.pk:
        current = f"v{label.version.number}" if label else "none"
        return Item("prompt", "Approved prompt version", State.FAILED,
                    f"v{version.number} was approved once, but the approved version is now {current}.", url=url)
    who = version.approved_by.get_username() if version.approved_by else "someone"
    return Item("prompt", "Approved prompt version", State.PASSED,
                f"v{version.number} approved by {who} on {version.approved_at:%Y-%m-%d %H:%M}.", url=url,
                details={"version": version.number, "approved_by": who})
