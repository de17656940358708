from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.shortcuts import resolve_url

from migrator.core.services import NotAllowed, ServiceError


class IdsFirstPaginator(Paginator):
    """Pages a queryset by sorting ids first: the page's rows are ``pk IN (the page's ids, sorted and sliced in
    a subquery)``, still one statement. The sort over the offset then reads only the narrow sort key (an
    index-only scan where the ordering has an index) instead of sorting every wide row (instructions, raw JSON)
    to keep 25, so a deep page costs about what the first one does."""

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)


def paginate(request: HttpRequest, queryset, per_page: int = 25, *, count: int | None = None,
             ids_first: bool = False) -> Page:
    """One page of ``queryset``. Pass ``count`` when the view already knows it, so the list is counted once;
    the page's total is ``page.paginator.count`` either way (never call ``.count()`` on the queryset again).
    ``ids_first`` for wide rows in a deep list (see :class:`IdsFirstPaginator`)."""
    paginator = (IdsFirstPaginator if ids_first else Paginator)(queryset, per_page)
    if count is not None:
        paginator.count = count  # replaces the cached_property: no second COUNT(*)
    return paginator.get_page(request.GET.get("page"))


def message_for(exc: ServiceError) -> str:
    """The message to show for a service's refusal, for views that show it (a form error, a flash message).

    A ``NotAllowed`` is re-raised instead: ``ServiceErrorMiddleware`` answers it with a 403, so views need no
    ``except NotAllowed`` block of their own (and cannot turn a permission refusal into a mere message).
    """
    if isinstance(exc, NotAllowed):
        raise exc
    return str(exc)


def refusals_go_to(request: HttpRequest, to: Any, *args: Any) -> None:
    """Where a service's refusal sends this request: call it before the service, then call the service with no
    ``try``. A ``ServiceError`` the view lets through becomes a flash message and a redirect to ``to`` (a model,
    URL name or path, as ``redirect`` takes), in ``ServiceErrorMiddleware``, the one refusal path; a
    ``NotAllowed`` is still a 403, and without this call a refusal is a 400 page."""
    request.refusals_go_to = resolve_url(to, *args)
