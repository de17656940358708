"""Read-only admin: cutover state changes only through the cutover services (no side doors)."""

from django.contrib import admin

from migrator.cutover.models import CutoverRequest, FlowRollout, ServingChange


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CutoverRequest)
class CutoverRequestAdmin(_ReadOnly):
    list_display = ("flow", "version", "status", "requested_by_label", "requested_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("flow__slug", "flow__name")


@admin.register(FlowRollout)
class FlowRolloutAdmin(_ReadOnly):
    list_display = ("flow", "production", "candidate", "percent", "updated_at")


@admin.register(ServingChange)
class ServingChangeAdmin(_ReadOnly):
    list_display = ("flow", "kind", "from_version", "to_version", "to_percent", "actor_label", "created_at")
    list_filter = ("kind",)
