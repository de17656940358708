"""Safety nets: a service refusal that a view did not handle, or a parameter that should be a number and is not,
is answered as what it is (403 or 400), never as a 500; and under DEBUG people still get the friendly error
pages."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader

from migrator.core.safeinput import MalformedNumber
from migrator.core.services import NotAllowed, ServiceError

logger = logging.getLogger("django.request")


class ServiceErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotAllowed):
            raise PermissionDenied(str(exception)) from exception  # Django renders 403.html
        if isinstance(exception, ServiceError) and getattr(request, "refusals_go_to", None):
            messages.error(request, str(exception))  # the view said where (core.views.common.refusals_go_to)
            return redirect(request.refusals_go_to)
        if isinstance(exception, ServiceError | MalformedNumber):
            return render(request, "400.html", {"message": str(exception)}, status=400)
        return None


class FriendlyErrorsInDebugMiddleware:
    """Under DEBUG too, people get the friendly 404 and 500 pages instead of Django's technical ones (the demo
    runs with DEBUG on). The traceback of a 500 still goes to the console log. The API keeps its JSON errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _applies(self, request: HttpRequest) -> bool:
        return settings.DEBUG and not request.path.startswith("/api/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # An address no URL pattern matches never reaches a view: its 404 is Django's technical page.
        if (self._applies(request) and response.status_code == 404 and getattr(request, "resolver_match", None) is None
                and "text/html" in response.get("Content-Type", "")):
            return render(request, "404.html", status=404)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not self._applies(request):
            return None
        if isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        if isinstance(exception, (PermissionDenied, BadRequest, SuspiciousOperation, ServiceError, MalformedNumber)):
            return None  # answered by Django (403/400) or the middleware above
        logger.error("Internal server error: %s", request.path, exc_info=exception)
        return HttpResponseServerError(loader.render_to_string("500.html", request=request))
