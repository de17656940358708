from django.contrib import admin

from migrator.validation.models import CaseResult, TestCase, TestSet, TestSetVersion, ValidationRun


@admin.register(TestSet)
class TestSetAdmin(admin.ModelAdmin):
    list_display = ("name", "assistant", "flow", "strategy", "updated_at")
    # Cases, sampling and check settings change only through the services (versions, validation, audit).
    readonly_fields = ("assistant", "flow", "strategy", "sample_size", "thread_ids", "checks", "sample_thread_id",
                       "contract", "created_by", "created_at", "updated_at")
    search_fields = ("name",)


@admin.register(TestCase)
class TestCaseAdmin(admin.ModelAdmin):
    list_display = ("key", "test_set", "kind", "turn")
    search_fields = ("key", "thread_legacy_id")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # cases are immutable


@admin.register(TestSetVersion)
class TestSetVersionAdmin(admin.ModelAdmin):
    list_display = ("test_set", "number", "message", "created_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ValidationRun)
class ValidationRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "test_set", "config_label", "mode", "status", "verdict", "created_at")
    list_filter = ("status", "mode")

    def get_readonly_fields(self, request, obj=None):  # everything is written by the run service
        return [f.name for f in self.model._meta.fields]


@admin.register(CaseResult)
class CaseResultAdmin(admin.ModelAdmin):
    list_display = ("run", "case", "repeat", "verdict", "score")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
