from django.urls import path
from django.views.generic import RedirectView

from migrator.flows.views import flows, tokens

app_name = "flows"

# Every page has a fixed prefix: a flow's pages live under f/<slug>/, so no slug can shadow another page and
# no slug needs to be reserved.
urlpatterns = [
    path("", flows.flow_list, name="list"),
    path("found/", flows.found_card, name="found"),
    # The assistant's Flows tab (takes the assistant pk, see migrator.core.navigation).
    path("assistants/<int:pk>/", flows.assistant_flows, name="assistant_flows"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/new/", tokens.token_create, name="token_create"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("f/<slug:slug>/", flows.flow_detail, name="detail"),
    path("f/<slug:slug>/mode/", flows.choose_mode, name="choose_mode"),
    path("f/<slug:slug>/mode/accept/", flows.accept_recommendation, name="accept_recommendation"),
    path("f/<slug:slug>/recommendation/", flows.refresh_recommendation, name="refresh_recommendation"),
    path("f/<slug:slug>/status/", flows.transition, name="transition"),
    path("f/<slug:slug>/edit/", flows.edit_flow, name="edit"),
    # Bookmarks from before each step had its own prefix.
    path("assistants/<int:pk>/flows/", RedirectView.as_view(pattern_name="flows:assistant_flows", permanent=True)),
    path("assistants/<int:pk>/tools/", RedirectView.as_view(pattern_name="tools:assistant_tools", permanent=True)),
]
