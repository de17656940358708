"""Admin: read-only windows. Runs and thread rows move only through the backfill services; budgets are set on
the Backfill page or with ``manage.py connection add --rpm/--tpm`` (audited)."""

from django.contrib import admin

from migrator.backfill.models import BackfillRun, ConnectionRateLimit, ThreadBackfill


@admin.register(BackfillRun)
class BackfillRunAdmin(admin.ModelAdmin):
    list_display = ("id", "connection", "status", "thread_count", "calls", "rate_limited", "orphans", "created_at")
    list_filter = ("status", "connection")
    readonly_fields = [f.name for f in BackfillRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # runs start from the Backfill pages or the backfill command

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ThreadBackfill)
class ThreadBackfillAdmin(admin.ModelAdmin):
    list_display = ("thread", "connection", "status", "conversation_id", "cursor", "item_count", "writes", "orphans")
    list_filter = ("status", "connection")
    search_fields = ("thread__legacy_id", "conversation_id")
    readonly_fields = [f.name for f in ThreadBackfill._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # rollback (items, then the conversation) is the way to undo a thread


@admin.register(ConnectionRateLimit)
class ConnectionRateLimitAdmin(admin.ModelAdmin):
    list_display = ("connection", "rpm", "tpm", "updated_at")
    readonly_fields = [f.name for f in ConnectionRateLimit._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
