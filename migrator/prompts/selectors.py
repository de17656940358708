"""Read-side queries for prompt versions and labels."""

from __future__ import annotations

from django.db.models import Count

from migrator.core.models import Assistant, Job
from migrator.prompts.models import LabelName, PromptLabel, PromptVersion


def _assistant_id(assistant: Assistant | int) -> int:
    return assistant if isinstance(assistant, int) else assistant.pk


def labels_for(assistant: Assistant | int) -> dict[str, PromptLabel]:
    rows = PromptLabel.objects.filter(assistant_id=_assistant_id(assistant)).select_related("version", "moved_by")
    return {row.name: row for row in rows}


def serving_version(assistant: Assistant | int) -> PromptVersion | None:
    """The approved version (the candidate flows cut over to), else None. What each flow actually serves is its
    cutover rollout (migrator.cutover.serving), which may still be an earlier version."""
    label = labels_for(assistant).get(LabelName.APPROVED)
    return label.version if label else None


def versions_for(assistant: Assistant | int):
    return (
        PromptVersion.objects.filter(assistant_id=_assistant_id(assistant))
        .select_related("author", "approved_by", "parent")
        .prefetch_related("labels")
        .annotate(comment_count=Count("comments"))
        .order_by("-number")
    )


def version_by_number(assistant: Assistant | int, number: int) -> PromptVersion | None:
    return PromptVersion.objects.filter(assistant_id=_assistant_id(assistant), number=number).first()


def current_version(assistant: Assistant | int) -> PromptVersion | None:
    """What the review page opens on: the draft, else the latest version."""
    labels = labels_for(assistant)
    if LabelName.DRAFT in labels:
        return labels[LabelName.DRAFT].version
    return PromptVersion.objects.filter(assistant_id=_assistant_id(assistant)).order_by("-number").first()


def recent_tries(assistant: Assistant | int, *, user, limit: int = 5):
    from migrator.prompts.services import TRY_JOB_KIND

    return Job.objects.visible_to(user).filter(
        kind=TRY_JOB_KIND, subject_type="core.assistant", subject_id=str(_assistant_id(assistant))
    )[:limit]
