from django.urls import path

from migrator.validation import views

app_name = "validation"

urlpatterns = [
    path("", views.testset_list, name="list"),
    path("new/", views.testset_new, name="testset_new"),
    path("sets/<int:pk>/", views.testset_detail, name="testset_detail"),
    path("sets/<int:pk>/exclude/", views.testset_exclude, name="testset_exclude"),
    path("sets/<int:pk>/include/", views.testset_include, name="testset_include"),
    path("sets/<int:pk>/redraw/", views.testset_redraw, name="testset_redraw"),
    path("sets/<int:pk>/cases/new/", views.case_new, name="case_new"),
    path("sets/<int:pk>/checks/", views.testset_checks, name="testset_checks"),
    path("sets/<int:pk>/run/", views.run_start, name="run_start"),
    path("sets/<int:pk>/export/promptfoo/", views.export_promptfoo, name="export_promptfoo"),
    path("sets/<int:pk>/export/jsonl/", views.export_jsonl, name="export_jsonl"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/cases/<int:case_id>/", views.case_result, name="case_result"),
    path("runs/<int:pk>/export/promptfoo/", views.export_run_promptfoo, name="export_run_promptfoo"),
    path("runs/<int:pk>/export/jsonl/", views.export_run_jsonl, name="export_run_jsonl"),
    path("compare/", views.run_compare, name="compare"),
    path("assistants/<int:assistant_id>/", views.assistant_validation, name="assistant_validation"),
    path("flows/<slug:slug>/trend/", views.flow_trend, name="flow_trend"),
]
