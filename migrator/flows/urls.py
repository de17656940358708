from django.urls import path

from migrator.flows.views import flows, tokens, tools

app_name = "flows"

urlpatterns = [
    path("", flows.flow_list, name="list"),
    # The assistant tabs (each takes the assistant pk, see migrator.core.navigation).
    path("assistants/<int:pk>/tools/", tools.assistant_tools, name="assistant_tools"),
    path("assistants/<int:pk>/tools/test/", tools.test_tool, name="test_tool"),
    path("assistants/<int:pk>/tools/test-all/", tools.test_all_tools, name="test_all_tools"),
    path("assistants/<int:pk>/tools/resources/", tools.check_resources, name="check_resources"),
    path("assistants/<int:pk>/tools/gate/", tools.tool_gate_panel, name="tool_gate"),
    path("assistants/<int:pk>/tools/card/<str:key>/", tools.tool_card, name="tool_card"),
    path("assistants/<int:pk>/flows/", flows.assistant_flows, name="assistant_flows"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/new/", tokens.token_create, name="token_create"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("<slug:slug>/", flows.flow_detail, name="detail"),
    path("<slug:slug>/mode/", flows.choose_mode, name="choose_mode"),
    path("<slug:slug>/mode/accept/", flows.accept_recommendation, name="accept_recommendation"),
    path("<slug:slug>/recommendation/", flows.refresh_recommendation, name="refresh_recommendation"),
    path("<slug:slug>/status/", flows.transition, name="transition"),
    path("<slug:slug>/edit/", flows.edit_flow, name="edit"),
]
