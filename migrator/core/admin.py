from django.contrib import admin

from migrator.core.models import (
    Assistant,
    AssistantStatusChange,
    AuditEvent,
    Connection,
    Flow,
    FlowStatusChange,
    Job,
    WorkerHeartbeat,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and audit rows are evidence: nobody edits them, not even in the admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "base_url", "is_sandbox", "last_tested_at")
    search_fields = ("name", "base_url")
    # The encrypted key is never shown; keys are set through the connection pages.
    exclude = ("api_key_encrypted",)
    readonly_fields = ("answers", "last_tested_at", "last_test_error", "created_by")


class StatusChangeInline(admin.TabularInline):
    model = AssistantStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "reason", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    list_display = ("display_name", "legacy_id", "model", "status", "priority", "message_count", "traffic_share")
    list_filter = ("status", "priority", "model")
    search_fields = ("name", "legacy_id", "instructions")
    # Status moves only through the status service (audited, permission-checked).
    readonly_fields = ("status", "status_changed_at", "raw", "definition_hash", "imported_at", "last_imported_at")
    inlines = [StatusChangeInline]


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "assistant", "mode", "status")
    list_filter = ("status", "mode")
    search_fields = ("name", "slug")
    readonly_fields = ("status", "migrated_at")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "progress_done", "progress_total", "created_by", "created_at")
    list_filter = ("status", "kind")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_label", "verb", "object_type", "object_repr")
    list_filter = ("verb", "object_type")
    search_fields = ("verb", "object_repr", "actor_label")


admin.site.register(AssistantStatusChange, ReadOnlyAdmin)
admin.site.register(FlowStatusChange, ReadOnlyAdmin)
admin.site.register(WorkerHeartbeat, ReadOnlyAdmin)
admin.site.site_header = "migrator administration"
