from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from migrator.backfill.api import router as backfill_api
from migrator.flows.api import api
from migrator.rollouts.api import router as outcomes_api

# The backfill's thread → conversation lookup joins the production API here, at the project level, so the
# flows app (which owns the API) does not depend on the backfill app.
api.add_router("", backfill_api)
api.add_router("", outcomes_api)  # POST /api/v1/flows/<slug>/outcomes (migrator-client's reports)

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("inventory/", include("migrator.inventory.urls")),
    path("prompts/", include("migrator.prompts.urls")),
    path("tools/", include("migrator.tools.urls")),
    path("flows/", include("migrator.flows.urls")),
    path("cutover/", include("migrator.cutover.urls")),
    path("rollouts/", include("migrator.rollouts.urls")),
    path("backfill/", include("migrator.backfill.urls")),
    path("validation/", include("migrator.validation.urls")),
    path("api/", include("migrator.flows.api_urls")),
    path("webhooks/", include("migrator.webhooks.urls")),
    path("diagnostics/", include("migrator.diagnostics.urls")),
    path("receipts/", include("migrator.receipts.urls")),
    path("models/", include("migrator.retirement.urls")),
    path("", include("migrator.core.urls")),
]
