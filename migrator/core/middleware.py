"""Safety net: a service refusal that a view did not handle, or a parameter that should be a number and is not,
is answered as what it is (403 or 400), never as a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from migrator.core.safeinput import MalformedNumber
from migrator.core.services import NotAllowed, ServiceError


class ServiceErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotAllowed):
            raise PermissionDenied(str(exception)) from exception  # Django renders 403.html
        if isinstance(exception, ServiceError | MalformedNumber):
            return render(request, "400.html", {"message": str(exception)}, status=400)
        return None
