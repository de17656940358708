from django.contrib import admin

from migrator.tools.models import ToolResourceCheck, ToolTestResult


@admin.register(ToolTestResult)
class ToolTestResultAdmin(admin.ModelAdmin):
    list_display = ("assistant", "tool_key", "version_number", "status", "connection_name", "created_at")
    list_filter = ("status", "tool_type")
    search_fields = ("tool_key", "assistant__name", "summary")
    readonly_fields = [f.name for f in ToolTestResult._meta.fields]


@admin.register(ToolResourceCheck)
class ToolResourceCheckAdmin(admin.ModelAdmin):
    list_display = ("assistant", "connection", "kind", "resource_id", "state", "checked_at")
    list_filter = ("state", "kind")
