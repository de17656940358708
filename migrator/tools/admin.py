from django.contrib import admin

from migrator.core.admin import ReadOnlyAdmin
from migrator.tools.models import ToolResourceCheck, ToolTestResult


@admin.register(ToolTestResult)
class ToolTestResultAdmin(ReadOnlyAdmin):
    """Verdicts of tool-test jobs: evidence for the "tools tested" step, written only by the tools services."""

    list_display = ("assistant", "tool_key", "version_number", "status", "connection_name", "created_at")
    list_filter = ("status", "tool_type")
    search_fields = ("tool_key", "assistant__name", "summary")


@admin.register(ToolResourceCheck)
class ToolResourceCheckAdmin(ReadOnlyAdmin):
    """Written by resource-check jobs."""

    list_display = ("assistant", "connection", "kind", "resource_id", "state", "checked_at")
    list_filter = ("state", "kind")
