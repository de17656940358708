from django.urls import path

from migrator.cutover import views

app_name = "cutover"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/decide/", views.decide, name="decide"),
    path("requests/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("flows/<slug:slug>/", views.flow_cutover, name="flow"),
    path("flows/<slug:slug>/request/", views.request_cutover, name="request"),
    path("flows/<slug:slug>/ramp/", views.ramp, name="ramp"),
    path("flows/<slug:slug>/rollback/", views.rollback, name="rollback"),
]
