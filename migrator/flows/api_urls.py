"""``/api/…``: the production config API (namespace ``api``; the v1 URLs are ``api:v1:<name>``).

The API authenticates with its own bearer tokens, so every view it serves is exempt from the site-wide
``LoginRequiredMiddleware`` (django-ninja does not mark its views itself).
"""

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path

from migrator.flows.api import api

app_name = "api"


def _methods(view, *, read_only: bool = False):
    """HEAD wherever GET is allowed (the GET answer without its body), and a JSON 405 (errors are always
    JSON) naming the allowed methods; django-ninja answers both with an HTML-less, code-less 405."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        head = request.method == "HEAD"
        if read_only and request.method not in ("GET", "HEAD"):  # the OpenAPI document and its docs page
            response = HttpResponse(status=405)
            response["Allow"] = "GET"
            head = False
        else:
            response = None
        if head:
            request.method = "GET"
        try:
            response = response or view(request, *args, **kwargs)
        finally:
            if head:
                request.method = "HEAD"
        if response.status_code == 405:
            allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
            if "GET" in allowed and "HEAD" not in allowed:
                allowed.append("HEAD")
            listed = ", ".join(allowed)
            response = JsonResponse({"error": {"code": "method_not_allowed", "message": (
                f"{request.method[:20]} is not allowed at {request.path}; use {listed or 'another endpoint'}.")}},
                status=405)
            response["Allow"] = listed
        elif head and not getattr(response, "streaming", False):
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)
        return response

    return wrapper


def _exempt(patterns: list) -> list:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            _exempt(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            read_only = entry.name in ("openapi-json", "openapi-view")
            entry.callback = login_not_required(_methods(entry.callback, read_only=read_only))
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
