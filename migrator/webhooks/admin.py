"""Webhooks in the admin: a read-only window (endpoints change on the Webhooks page, through the services that
validate URLs and events, rotate secrets and audit; deliveries are the log)."""

from django.contrib import admin

from migrator.core.admin import ReadOnlyAdmin
from migrator.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint, WebhookEvent


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("name", "url", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    exclude = ("secret_encrypted", "previous_secret_encrypted")  # never shown, not even encrypted


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "job_id", "response_code", "duration_ms", "succeeded", "error", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "endpoint", "event", "status", "attempts", "response_code", "created_at")
    list_filter = ("status",)
    inlines = [AttemptInline]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("type", "uuid", "actor_label", "created_at")
    list_filter = ("type",)
