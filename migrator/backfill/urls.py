from django.urls import path

from migrator.backfill import views

app_name = "backfill"

urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("new/", views.new_backfill, name="new"),
    path("new/estimate/", views.estimate_panel, name="estimate"),
    path("plan/", views.plan, name="plan"),
    path("runs/create/", views.run_create, name="run_create"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/<str:action>/", views.run_action, name="run_action"),
    path("threads/", views.thread_lookup, name="thread_lookup"),
    path("threads/<int:pk>/", views.thread_detail, name="thread_detail"),
    path("threads/<int:pk>/rollback/", views.thread_rollback, name="thread_rollback"),
    path("mapping.<str:fmt>", views.mapping_download, name="mapping"),
    path("connections/<int:pk>/budget/", views.connection_budget, name="connection_budget"),
    path("assistants/<int:pk>/", views.assistant_backfill, name="assistant_backfill"),
]
