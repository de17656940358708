from django.urls import path

from migrator.diagnostics import views

app_name = "diagnostics"

urlpatterns = [
    path("system/", views.system_checks, name="system"),
    path("flows/<slug:slug>/", views.flow_diagnostics, name="flow"),
    path("flows/<slug:slug>/summary/", views.flow_summary, name="flow_summary"),
]
