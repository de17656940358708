from django.urls import path

from migrator.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_create, name="create"),
    path("endpoints/<int:pk>/", views.endpoint_detail, name="detail"),
    path("endpoints/<int:pk>/log/", views.endpoint_log, name="log"),
    path("endpoints/<int:pk>/edit/", views.endpoint_edit, name="edit"),
    path("endpoints/<int:pk>/active/", views.endpoint_active, name="active"),
    path("endpoints/<int:pk>/rotate/", views.endpoint_rotate, name="rotate"),
    path("endpoints/<int:pk>/delete/", views.endpoint_delete, name="delete"),
    path("endpoints/<int:pk>/test/", views.endpoint_test, name="test"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<int:pk>/redeliver/", views.delivery_redeliver, name="redeliver"),
]
