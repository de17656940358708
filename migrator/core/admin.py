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
    """A window onto rows that services own: no add, change or delete here, so the admin is never a side door
    around a service's permission checks, rules and audit. History and audit rows are evidence besides.

    Changes go through the app's own pages (or its management commands); admin actions that change something
    call the same services (see ``ApiTokenAdmin.revoke``).
    """

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    """Connections are added, edited and tested on the Connections pages (encrypted key, audit)."""

    list_display = ("name", "base_url", "is_sandbox", "last_tested_at")
    search_fields = ("name", "base_url")
    exclude = ("api_key_encrypted",)  # never shown, not even encrypted


class StatusChangeInline(admin.TabularInline):
    model = AssistantStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "reason", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Assistant)
class AssistantAdmin(ReadOnlyAdmin):
    """The definition comes from imports, business fields from the inventory's business service and the status
    from the status service; each is audited there."""

    list_display = ("display_name", "legacy_id", "model", "status", "priority", "message_count", "traffic_share")
    list_filter = ("status", "priority", "model")
    search_fields = ("name", "legacy_id", "instructions")
    inlines = [StatusChangeInline]


@admin.register(Flow)
class FlowAdmin(ReadOnlyAdmin):
    """Slug, mode, store, truncation, steps and status change only through the flows services."""

    list_display = ("name", "slug", "assistant", "mode", "status")
    list_filter = ("status", "mode")
    search_fields = ("name", "slug")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "queue", "worker", "enqueue_count", "created_by", "created_at")
    list_filter = ("status", "kind", "queue")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_label", "verb", "object_type", "object_repr")
    list_filter = ("verb", "object_type")
    search_fields = ("verb", "object_repr", "actor_label")


admin.site.register(AssistantStatusChange, ReadOnlyAdmin)
admin.site.register(FlowStatusChange, ReadOnlyAdmin)
admin.site.register(WorkerHeartbeat, ReadOnlyAdmin)
admin.site.site_header = "migrator administration"
