"""Validation rows in the admin: a window only. Test sets, cases, versions, runs and results change through
the validation services (versions, permission checks, audit); runs and results are evidence besides."""

from django.contrib import admin

from migrator.core.admin import ReadOnlyAdmin
from migrator.validation.models import CaseResult, TestCase, TestSet, TestSetVersion, ValidationRun


@admin.register(TestSet)
class TestSetAdmin(ReadOnlyAdmin):
    list_display = ("name", "assistant", "flow", "strategy", "updated_at")
    list_filter = ("strategy",)
    search_fields = ("name", "assistant__name")


@admin.register(TestCase)
class TestCaseAdmin(ReadOnlyAdmin):
    list_display = ("key", "test_set", "kind", "turn", "created_at")
    list_filter = ("kind",)
    search_fields = ("key", "thread_legacy_id")


@admin.register(TestSetVersion)
class TestSetVersionAdmin(ReadOnlyAdmin):
    list_display = ("test_set", "number", "message", "created_at")


@admin.register(ValidationRun)
class ValidationRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "test_set", "config_label", "mode", "status", "verdict", "created_at")
    list_filter = ("status", "mode", "source")


@admin.register(CaseResult)
class CaseResultAdmin(ReadOnlyAdmin):
    list_display = ("run", "case", "repeat", "verdict", "score")
    list_filter = ("verdict",)
