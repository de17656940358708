from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("inventory/", include("migrator.inventory.urls")),
    path("prompts/", include("migrator.prompts.urls")),
    path("tools/", include("migrator.tools.urls")),
    path("flows/", include("migrator.flows.urls")),
    path("cutover/", include("migrator.cutover.urls")),
    path("backfill/", include("migrator.backfill.urls")),
    path("api/", include("migrator.flows.api_urls")),
    path("", include("migrator.core.urls")),
]
