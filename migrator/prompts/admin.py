from django.contrib import admin

from migrator.core.admin import ReadOnlyAdmin
from migrator.prompts.models import PromptComment, PromptLabel, PromptVersion, ReviewRequest


@admin.register(PromptVersion)
class PromptVersionAdmin(ReadOnlyAdmin):
    """Versions are immutable once saved; new ones come from generating, editing and approving on the Prompt tab."""

    list_display = ("assistant", "number", "is_generated", "author", "approved_by", "approved_at", "created_at")
    list_filter = ("is_generated",)
    search_fields = ("assistant__name", "message")


@admin.register(PromptLabel)
class PromptLabelAdmin(ReadOnlyAdmin):
    """Labels move only through the prompts services (each move is checked and audited)."""

    list_display = ("assistant", "name", "version", "moved_by", "moved_at")
    list_filter = ("name",)


@admin.register(PromptComment)
class PromptCommentAdmin(ReadOnlyAdmin):
    list_display = ("version", "author", "created_at")


@admin.register(ReviewRequest)
class ReviewRequestAdmin(ReadOnlyAdmin):
    """Requests are made, withdrawn and answered (by approving the version) only through the prompts services."""

    list_display = ("version", "requested_by_label", "reviewer", "reviewer_group", "status", "created_at", "closed_at")
    list_filter = ("status",)
