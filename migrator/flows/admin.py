from django.contrib import admin, messages

from migrator.flows.models import ApiToken
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
