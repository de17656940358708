from django.urls import path

from migrator.inventory.views import connections, exports, imports, usage

app_name = "inventory"

urlpatterns = [
    path("connections/", connections.connection_list, name="connection_list"),
    path("connections/add/", connections.connection_add, name="connection_add"),
    path("connections/<int:pk>/edit/", connections.connection_edit, name="connection_edit"),
    path("connections/<int:pk>/test/", connections.connection_test, name="connection_test"),
    path("import/", imports.import_page, name="import"),
    path("export/", exports.export_page, name="export"),
    path("export/<int:pk>/archive/", exports.export_download, name="export_download"),
    path("usage/", usage.usage, name="usage"),
    path("models/", usage.model_radar, name="model_radar"),
    path("assistants/<int:pk>/usage/", usage.assistant_usage, name="assistant_usage"),
]
