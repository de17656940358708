from django.urls import path

from migrator.receipts import views

app_name = "receipts"

urlpatterns = [
    path("flows/<slug:slug>/", views.download, name="download"),
]
