from django.urls import path

from migrator.tools import views

app_name = "tools"

urlpatterns = [
    # The assistant's Tools tab and its actions (each takes the assistant pk, see migrator.core.navigation).
    path("assistants/<int:pk>/", views.assistant_tools, name="assistant_tools"),
    path("assistants/<int:pk>/test/", views.test_tool, name="test_tool"),
    path("assistants/<int:pk>/test-all/", views.test_all_tools, name="test_all_tools"),
    path("assistants/<int:pk>/resources/", views.check_resources, name="check_resources"),
    path("assistants/<int:pk>/gate/", views.tool_gate_panel, name="tool_gate"),
    path("assistants/<int:pk>/vector-store/", views.attach_vector_store, name="attach_vector_store"),
    path("assistants/<int:pk>/card/<str:key>/", views.tool_card, name="tool_card"),
]
