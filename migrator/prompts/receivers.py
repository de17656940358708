"""Signal receivers (connected in PromptsConfig.ready)."""

from __future__ import annotations

import logging

from migrator.prompts.models import PromptVersion

logger = logging.getLogger(__name__)


def regenerate_after_drift(sender, *, assistant, changed_fields=None, **kwargs) -> None:
    """The legacy assistant changed upstream: regenerate its draft and send the prompt back to review.

    Assistants nobody has drafted yet are left alone; their first draft will read the new definition anyway.
    """
    if not PromptVersion.objects.filter(assistant_id=assistant.pk).exists():
        return
    from migrator.prompts.services import handle_drift

    version = handle_drift(assistant_id=assistant.pk, changed_fields=list(changed_fields or []))
    logger.info("assistant %s drifted (%s); regenerated %s", assistant.pk, changed_fields, version)
