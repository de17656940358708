"""``/api/…``: the production config API (namespace ``api``; the v1 URLs are ``api:v1:<name>``).

The API authenticates with its own bearer tokens, so every view it serves is exempt from the site-wide
``LoginRequiredMiddleware`` (django-ninja does not mark its views itself).
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path

from migrator.flows.api import api

app_name = "api"


def _exempt(patterns: list) -> list:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            _exempt(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            login_not_required(entry.callback)
    return patterns


_v1_patterns, _v1_app, _v1_namespace = api.urls
urlpatterns = [path("v1/", include((_exempt(_v1_patterns), _v1_app), namespace=_v1_namespace))]
