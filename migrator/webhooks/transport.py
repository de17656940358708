"""The one place webhook HTTP requests are made: plain httpx (not the OpenAI client), with timeouts.

Endpoints are configured by people with the ``webhooks.add_webhookendpoint`` permission, so the URL is
trusted as much as they are; still, a delivery never follows redirects (a receiver cannot bounce the request to
an internal address), reads at most a short excerpt of the answer, and gives up after the configured timeout.
See docs/webhooks.md ("Security") for what to restrict at the network level.

httpx here is migrator's own, declared dependency, used end to end by this module: its client, timeouts and
exceptions never meet another library's objects (the openai SDK runs on httpx2 and gets none of them).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from migrator.core import outbound
from migrator.core.outbound import guard_transport

USER_AGENT = "migrator-webhooks/1"
EXCERPT_CHARS = 500


class BadURL(ValueError):
    """The URL cannot be a webhook endpoint; the message says why."""


def check_url(url: str) -> str:
    """Return the cleaned URL or raise :class:`BadURL` (only absolute http(s) URLs with a host)."""
    url = (url or "").strip()
    if not url:
        raise BadURL("Enter the receiver's URL.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise BadURL(f"Webhook URLs must start with http:// or https:// (got '{parts.scheme or url}').")
    if not parts.hostname:
        raise BadURL("The URL has no host name.")
    if parts.username or parts.password:
        raise BadURL("Put no credentials in the URL: deliveries are signed with the endpoint's secret instead.")
    if parts.fragment:
        raise BadURL("Remove the #fragment from the URL: it is never sent to the receiver.")
    return url


def check_destination(url: str) -> str:
    """``check_url`` plus the outbound policy (registration time): internal addresses are refused."""
    url = check_url(url)
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as exc:
        raise BadURL(str(exc)) from None
    return url


@dataclass
class SendResult:
    ok: bool
    status_code: int | None
    duration_ms: int
    excerpt: str = ""
    error: str = ""


_clients: dict[int, httpx.Client] = {}
_lock = threading.Lock()


def _client() -> httpx.Client:
    """One client per process and timeout: building one loads the TLS trust store, which costs more than a
    local delivery, and a kept-alive connection serves a receiver's next delivery."""
    seconds = settings.WEBHOOK_TIMEOUT_SECONDS
    with _lock:
        client = _clients.get(seconds)
        if client is None:
            limits = httpx.Limits(max_keepalive_connections=20)
            # The outbound policy again at connect time, on the address connected to (DNS rebinding).
            client = httpx.Client(timeout=httpx.Timeout(seconds, connect=min(5, seconds)), follow_redirects=False,
                                  trust_env=False, limits=limits,
                                  transport=guard_transport(httpx.HTTPTransport(limits=limits)))
            _clients[seconds] = client
    return client


def post(url: str, body: bytes, headers: dict[str, str]) -> SendResult:
    """POST one delivery. Only a 2xx answer counts as delivered; redirects count as failures."""
    started = time.monotonic()
    try:
        check_url(url)
        response = _client().post(url, content=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        excerpt = response.text[:EXCERPT_CHARS] if response.content else ""
    except BadURL as exc:
        return SendResult(False, None, 0, error=str(exc))
    except outbound.OutboundRefused as exc:  # at connect time: the name now resolves somewhere refused
        return SendResult(False, None, _ms(started), error=str(exc))
    except httpx.TimeoutException:
        return SendResult(False, None, _ms(started),
                          error=f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS}s (timed out).")
    except httpx.HTTPError as exc:
        return SendResult(False, None, _ms(started), error=f"{type(exc).__name__}: {exc}"[:1000])
    duration = _ms(started)
    code = response.status_code
    if 200 <= code < 300:
        return SendResult(True, code, duration, excerpt)
    if 300 <= code < 400:
        where = response.headers.get("location", "")
        return SendResult(False, code, duration, excerpt,
                          error=f"The receiver redirected ({code}{' to ' + where if where else ''}); redirects are "
                                "not followed. Configure the final URL.")
    return SendResult(False, code, duration, excerpt, error=f"The receiver answered HTTP {code}.")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
