"""Webhook pages: endpoints, one endpoint with its delivery log, one delivery with its attempts."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from migrator.core.services import ServiceError
from migrator.core.views.common import message_for, refusals_go_to
from migrator.webhooks import services, signing
from migrator.webhooks.events import EVENTS
from migrator.webhooks.forms import EndpointForm
from migrator.webhooks.models import Delivery, DeliveryStatus, WebhookEndpoint


def _need(request: HttpRequest, perm: str, what: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"You may not {what}.")


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.visible_to(request.user).filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def _perms(request: HttpRequest) -> dict:
    return {"can_add": request.user.has_perm("webhooks.add_webhookendpoint"),
            "can_change": request.user.has_perm("webhooks.change_webhookendpoint"),
            "can_delete": request.user.has_perm("webhooks.delete_webhookendpoint")}


def endpoint_list(request: HttpRequest, form: EndpointForm | None = None, status: int = 200) -> HttpResponse:
    _need(request, "webhooks.view_webhookendpoint", "view webhooks")
    endpoints = WebhookEndpoint.objects.visible_to(request.user).annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SUCCEEDED)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        last_delivery=Max("deliveries__created_at"),
    )
    return render(request, "webhooks/endpoint_list.html", {
        "endpoints": endpoints, "form": form or EndpointForm(initial={"is_active": True}), "events": EVENTS,
        **_perms(request)}, status=status)


@never_cache
@require_POST
def endpoint_create(request: HttpRequest) -> HttpResponse:
    _need(request, "webhooks.add_webhookendpoint", "add webhook endpoints")
    form = EndpointForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The endpoint was not created: see the form.")
        return endpoint_list(request, form, status=422)
    try:
        endpoint, secret = services.create_endpoint(actor=request.user, **form.cleaned_data)
    except ServiceError as exc:
        message = message_for(exc)
        form.add_error("url" if message.startswith("URL:") else None, message)
        return endpoint_list(request, form, status=422)
    messages.success(request, f"Endpoint '{endpoint.name}' created.")
    return _detail(request, endpoint, secret=secret)


def _log_context(request: HttpRequest, endpoint: WebhookEndpoint) -> dict:
    show = request.GET.get("status", "")
    deliveries = endpoint.deliveries.select_related("event").order_by("-created_at", "-id")
    if show in DeliveryStatus.values:
        deliveries = deliveries.filter(status=show)
    return {"endpoint": endpoint, "show": show, "statuses": DeliveryStatus.choices,
            "page": Paginator(deliveries, 25).get_page(request.GET.get("page")),
            "has_pending": endpoint.deliveries.filter(status=DeliveryStatus.PENDING).exists(), **_perms(request)}


def _detail(request: HttpRequest, endpoint: WebhookEndpoint, *, secret: str = "",
            form: EndpointForm | None = None, status: int = 200) -> HttpResponse:
    form = form or EndpointForm(initial={"name": endpoint.name, "url": endpoint.url, "events": endpoint.events,
                                         "description": endpoint.description, "is_active": endpoint.is_active})
    response = render(request, "webhooks/endpoint_detail.html", {
        **_log_context(request, endpoint), "secret": secret, "form": form,
        "signature_header": signing.SIGNATURE_HEADER, "event_id_header": signing.EVENT_ID_HEADER}, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, "webhooks.view_webhookendpoint", "view webhooks")
    return _detail(request, _endpoint(request, pk))


def endpoint_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery log, polled while deliveries are pending; 286 (stop polling) once none is."""
    _need(request, "webhooks.view_webhookendpoint", "view webhooks")
    context = _log_context(request, _endpoint(request, pk))
    if context["has_pending"]:
        return render(request, "webhooks/endpoint_detail.html#delivery-log", context)
    return HttpResponseStopPolling(render_to_string("webhooks/endpoint_detail.html#delivery-log", context, request))


@require_POST
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, "webhooks.change_webhookendpoint", "change webhook endpoints")
    endpoint = _endpoint(request, pk)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not saved: see the form.")
        return _detail(request, endpoint, form=form, status=422)
    try:
        services.update_endpoint(actor=request.user, endpoint_id=endpoint.pk, **form.cleaned_data)
    except ServiceError as exc:
        message = message_for(exc)
        form.add_error("url" if message.startswith("URL:") else None, message)
        return _detail(request, endpoint, form=form, status=422)
    messages.success(request, "Endpoint saved.")
    return redirect(endpoint)


def _act(request: HttpRequest, pk: int, perm: str, what: str, action) -> HttpResponse:
    _need(request, perm, what)
    endpoint = _endpoint(request, pk)
    refusals_go_to(request, endpoint)
    return action(endpoint)


@require_POST
def endpoint_active(request: HttpRequest, pk: int) -> HttpResponse:
    active = request.POST.get("active") == "1"

    def act(endpoint):
        services.set_active(actor=request.user, endpoint_id=endpoint.pk, active=active)
        messages.success(request, f"'{endpoint.name}' {'enabled' if active else 'disabled'}.")
        return redirect(endpoint)

    return _act(request, pk, "webhooks.change_webhookendpoint", "change webhook endpoints", act)


@never_cache
@require_POST
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    def act(endpoint):
        endpoint, secret = services.rotate_secret(actor=request.user, endpoint_id=endpoint.pk)
        messages.success(request, "New secret generated; deliveries are signed with it from now on.")
        return _detail(request, endpoint, secret=secret)

    return _act(request, pk, "webhooks.change_webhookendpoint", "rotate webhook secrets", act)


@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    def act(endpoint):
        services.delete_endpoint(actor=request.user, endpoint_id=endpoint.pk)
        messages.success(request, f"Endpoint '{endpoint.name}' deleted with its delivery log.")
        return redirect("webhooks:list")

    return _act(request, pk, "webhooks.delete_webhookendpoint", "delete webhook endpoints", act)


@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    def act(endpoint):
        delivery = services.send_test(actor=request.user, endpoint_id=endpoint.pk)
        messages.success(request, f"Test event queued as delivery #{delivery.pk}; its result appears in the log.")
        return redirect(endpoint)

    return _act(request, pk, "webhooks.change_webhookendpoint", "send test webhooks", act)


def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, "webhooks.view_webhookendpoint", "view webhooks")
    delivery = Delivery.objects.select_related("endpoint", "event", "redelivery_of").filter(pk=pk).first()
    if delivery is None or not WebhookEndpoint.objects.visible_to(request.user).filter(pk=delivery.endpoint_id).exists():
        raise Http404("No such delivery.")
    body = json.loads(services.event_body(delivery.event))
    return render(request, "webhooks/delivery_detail.html", {
        "delivery": delivery, "endpoint": delivery.endpoint, "attempts": delivery.attempt_log.all(),
        "body": json.dumps(body, indent=2, ensure_ascii=False), "event_id_header": signing.EVENT_ID_HEADER,
        "signature_header": signing.SIGNATURE_HEADER, **_perms(request)})


@require_POST
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, "webhooks.change_webhookendpoint", "redeliver webhooks")
    original = Delivery.objects.filter(pk=pk).first()
    if original is None:
        raise Http404("No such delivery.")
    try:
        delivery = services.redeliver(actor=request.user, delivery_id=original.pk)
    except ServiceError as exc:
        messages.error(request, message_for(exc))
        return redirect("webhooks:delivery", pk=original.pk)
    messages.success(request, f"Redelivery queued as delivery #{delivery.pk} (same event id).")
    return redirect("webhooks:delivery", pk=delivery.pk)
