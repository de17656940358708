from django.urls import path

from migrator.retirement import views

app_name = "retirement"

urlpatterns = [
    path("", views.catalogue_page, name="catalogue"),
    path("sync/", views.sync_now, name="sync"),
    path("notices/", views.notices, name="notices"),
    path("notices/<int:notice_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("autopilot/", views.autopilot_page, name="autopilot"),
    path("autopilot/enrol/", views.autopilot_enrol, name="autopilot_enrol"),
    path("autopilot/run/", views.autopilot_run, name="autopilot_run"),
]
