from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from migrator.core.models import Assistant
from migrator.prompts.models import PromptVersion


def visible_assistant(request: HttpRequest, pk: int) -> Assistant:
    return get_object_or_404(Assistant.objects.visible_to(request.user), pk=pk)


def visible_version(request: HttpRequest, pk: int) -> PromptVersion:
    return get_object_or_404(
        PromptVersion.objects.visible_to(request.user).select_related("assistant", "author", "approved_by"), pk=pk
    )


def require_perm(request: HttpRequest, perm: str, message: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(message)


def abilities(user, version: PromptVersion | None = None) -> dict[str, bool]:
    from migrator.prompts import services

    can_approve = user.has_perm("core.approve_prompt")
    own = bool(version and version.author_id and version.author_id == user.pk)
    return {
        "generate": user.has_perm("core.draft_prompt"),
        "edit": user.has_perm("prompts.edit_prompt"),
        "approve": can_approve,
        "approve_this": can_approve and (version is None or not services.self_approval(user, version)),
        "own_version": own,
        "comment": user.has_perm("prompts.add_promptcomment"),
        "try": user.has_perm("prompts.try_prompt"),
        "request_review": user.has_perm("prompts.request_review"),
    }
