"""``/api/…``: the production config API (namespace ``api``; the v1 URLs are ``api:v1:<name>``).

The API authenticates with its own bearer tokens, so every view it serves is exempt from the site-wide
``LoginRequiredMiddleware`` (django-ninja does not mark its views itself).
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path

from migrator.flows.api import api

app_name = "api"


def _exempt(patterns: list) -> list:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            _exempt(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            login_not_required(entry.callback)
    return patterns


@login_not_required
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Anything else under /api/ answers JSON too: API clients should never have to parse an HTML page."""
    return JsonResponse(
        {"error": {"code": "not_found", "message": f"There is no API endpoint at {request.path}. Flow "
                                                   "configurations are at /api/v1/flows/<slug>/config."}},
        status=404,
    )


_v1_patterns, _v1_app, _v1_namespace = api.urls
urlpatterns = [
    path("v1/", include((_exempt(_v1_patterns), _v1_app), namespace=_v1_namespace)),
    re_path(r"^(?P<rest>.*)$", not_found, name="not_found"),
]
