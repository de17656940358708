from django.contrib import admin

from migrator.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint, WebhookEvent


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    # Endpoints change only through the Webhooks page (its services validate the URL and events, rotate the
    # secret and audit every change); the admin shows them.
    readonly_fields = ("name", "url", "events", "is_active", "description", "secret_hint", "secret_rotated_at",
                       "created_by", "created_at", "updated_at")
    exclude = ("secret_encrypted",)

    def has_add_permission(self, request) -> bool:
        return False  # create endpoints on the Webhooks page, which generates and shows the secret


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "job_id", "response_code", "duration_ms", "succeeded", "error", "created_at")
    exclude = ("response_excerpt",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "endpoint", "event", "status", "attempts", "response_code", "created_at")
    list_filter = ("status",)
    inlines = [AttemptInline]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("type", "uuid", "actor_label", "created_at")
    list_filter = ("type",)
    readonly_fields = ("uuid", "type", "payload", "actor_label", "created_at")

    def has_add_permission(self, request) -> bool:
        return False
