from django.contrib import admin, messages

from migrator.flows.models import ApiToken, ToolResourceCheck, ToolTestResult
from migrator.flows.services.tokens import revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "consumer", "display_prefix", "use_count", "last_used_at", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "consumer", "prefix")
    readonly_fields = ("prefix", "token_hash", "created_by", "created_at", "revoked_at", "revoked_by",
                       "last_used_at", "use_count")
    filter_horizontal = ("flows",)
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        # Tokens are created on the API tokens page, the only place that can show the secret once.
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            revoke_token(actor=request.user, token_id=token.pk, reason="revoked in the admin")
        messages.success(request, f"Revoked {queryset.count()} token(s).")


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
