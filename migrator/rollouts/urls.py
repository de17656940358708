from django.urls import path

from migrator.rollouts import views

app_name = "rollouts"

urlpatterns = [
    path("flows/<slug:slug>/guard/", views.guard, name="guard"),
    path("flows/<slug:slug>/shadow/", views.shadow, name="shadow"),
    path("flows/<slug:slug>/charts/", views.flow_charts, name="flow_charts"),
    path("breaches/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]
