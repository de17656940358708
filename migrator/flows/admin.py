from django.contrib import admin, messages

from migrator.core.admin import ReadOnlyAdmin
from migrator.flows.models import ApiToken
from migrator.flows.services.tokens import revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are issued on the API tokens page (the only place that can show the secret once); the admin
    lists them and revokes through the same service."""

    list_display = ("name", "consumer", "display_prefix", "use_count", "last_used_at", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "consumer", "prefix")
    exclude = ("token_hash",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            revoke_token(actor=request.user, token_id=token.pk, reason="revoked in the admin")
        messages.success(request, f"Revoked {queryset.count()} token(s).")
