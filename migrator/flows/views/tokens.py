"""API tokens: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, paginate, refusals_go_to
from migrator.flows.forms import TokenCreateForm, TokenRevokeForm
from migrator.flows.models import ApiToken
from migrator.flows.services import tokens as token_services
from migrator.flows.services import traffic

TOKENS_PER_PAGE = 25


def _context(request: HttpRequest, form: TokenCreateForm | None = None, **extra) -> dict:
    show = request.GET.get("show", "active")
    tokens = ApiToken.objects.select_related("created_by", "revoked_by").prefetch_related("flows")
    if show == "active":
        tokens = tokens.filter(revoked_at__isnull=True)
    elif show == "revoked":
        tokens = tokens.filter(revoked_at__isnull=False)
    # A page of tokens at a time: each row carries 14 days of calls, and an estate may hold hundreds of tokens.
    page = paginate(request, tokens.order_by("-created_at", "-id"), TOKENS_PER_PAGE)
    tokens = list(page.object_list)
    days = traffic.token_days([t.pk for t in tokens])
    for token in tokens:
        token.recent_days = days[token.pk]
    return {
        "tokens": tokens,
        "page": page,
        "show": show,
        "form": form or TokenCreateForm(),
        "can_add": request.user.has_perm("flows.add_apitoken"),
        "can_change": request.user.has_perm("flows.change_apitoken"),
        "api_base": request.build_absolute_uri(reverse("api:v1:openapi-view")),
        **extra,
    }


_REVEAL = "migrator.new_api_token"


@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("flows.view_apitoken"):
        raise PermissionDenied("You may not view API tokens.")
    # The secret of a token just created is shown on the first GET after the creating POST, then forgotten:
    # a reload shows the list without it and re-posts nothing.
    reveal = request.session.pop(_REVEAL, None)
    extra = {}
    if isinstance(reveal, dict):
        token = ApiToken.objects.filter(pk=reveal.get("id")).first()
        if token is not None and reveal.get("plaintext"):
            extra = {"new_token": token, "plaintext": reveal["plaintext"]}
    response = render(request, "flows/token_list.html", _context(request, **extra))
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("flows.add_apitoken"):
        raise PermissionDenied("You may not create API tokens.")
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The token was not created: see the form.")
        return render(request, "flows/token_list.html", _context(request, form), status=422)
    try:
        token, plaintext = token_services.create_token(
            actor=request.user, name=form.cleaned_data["name"], consumer=form.cleaned_data["consumer"],
            flow_ids=[f.pk for f in form.cleaned_data["flows"]],
        )
    except ServiceError as exc:
        form.add_error(None, message_for(exc))
        return render(request, "flows/token_list.html", _context(request, form), status=422)
    # POST/redirect/GET, so a reload never issues a second token. The secret never travels through a URL: it
    # waits in the server-side session for exactly one GET (popped there), and is never stored anywhere else.
    request.session[_REVEAL] = {"id": token.pk, "plaintext": plaintext}
    return redirect("flows:token_list")


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("flows.change_apitoken"):
        raise PermissionDenied("You may not revoke API tokens.")
    form = TokenRevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    refusals_go_to(request, "flows:token_list")
    token = token_services.revoke_token(actor=request.user, token_id=pk, reason=reason)
    messages.success(request, f"Revoked {token.name} ({token.display_prefix}…); calls with it now get 401.")
    return redirect("flows:token_list")
