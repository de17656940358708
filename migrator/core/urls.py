from django.urls import path

from migrator.core.views import assistants, audit, dashboard, docs, jobs, suggest, system

app_name = "core"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("assistants/", assistants.assistant_list, name="assistant_list"),
    path("assistants/<int:pk>/", assistants.assistant_detail, name="assistant_detail"),
    path("assistants/<int:pk>/status/", assistants.assistant_transition, name="assistant_transition"),
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job_detail"),
    path("jobs/<int:pk>/progress/", jobs.job_progress, name="job_progress"),
    path("jobs/<int:pk>/cancel/", jobs.job_cancel, name="job_cancel"),
    path("system/", system.system_status, name="system_status"),
    path("system/selftest/", jobs.worker_selftest, name="worker_selftest"),
    path("suggest/<slug:kind>/", suggest.suggest, name="suggest"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("docs/<slug:name>/", docs.doc, name="doc"),
]
