"""One policy for every request migrator sends to an address a user typed (connections, webhooks).

Refused: loopback, link-local (which holds the cloud metadata services, 169.254.169.254), the unspecified address,
known metadata addresses and names (``metadata.google.internal``, ``fd00:ec2::254``, ``100.100.100.200``), and
IPv6 forms of these (IPv4-mapped ``::ffff:127.0.0.1``). Private networks stay allowed: an internal gateway in front
of the API is a normal deployment. ``OUTBOUND_ALLOWED_NETWORKS`` (CIDRs) lists ranges allowed anyway; under
``DEBUG`` (and in the tests) it defaults to loopback, where the bundled sandbox answers.

Checked twice: when an address is registered (:func:`check_url`, a clear message on the form), and when a connection
is opened (:func:`guard_transport`): the host is resolved once, every address it resolves to is checked, and the
socket connects to the checked address, so a name that resolves elsewhere the second time (DNS rebinding) gains
nothing. Numbers in other forms (``2130706433``, ``127.1``, ``0x7f.1``) are resolved by the system resolver to
the address they mean before the check.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from migrator.core.services import ServiceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                            "instance-data.ec2.internal"})
_REFUSED_NETWORKS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128",  # loopback
    "169.254.0.0/16", "fe80::/10",  # link-local: AWS/GCP/Azure/Oracle metadata live at 169.254.169.254
    "0.0.0.0/8", "::/128",  # "this host"
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
)]


class OutboundRefused(ServiceError):
    """The address is one migrator does not send requests to."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", [])]


def refusal(address: IPAddress) -> str:
    """Why ``address`` is refused ("" when it is allowed)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed_networks()):
        return ""
    for network in _REFUSED_NETWORKS:
        if address.version == network.version and address in network:
            if address.is_loopback:
                return f"{address} is a loopback address (this machine)"
            if address.is_link_local or str(network) in ("fd00:ec2::254/128", "100.100.100.200/32"):
                return f"{address} is link-local or a cloud metadata address"
            return f"{address} is not a routable address"
    return ""


def resolve(host: str, port: int | None) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRefused(f"The host {host!r} does not resolve ({exc}).") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))


def check_host(host: str, port: int | None = None, *, unresolvable_ok: bool = False) -> list[IPAddress]:
    """The addresses ``host`` resolves to, every one allowed; raises :class:`OutboundRefused` otherwise.
    ``unresolvable_ok`` (registration): a name that does not resolve yet passes; connecting checks it again."""
    name = (host or "").strip().strip("[]").rstrip(".").lower()
    if not name:
        raise OutboundRefused("The URL has no host name.")
    if name in METADATA_NAMES or name.endswith(".metadata.google.internal"):
        raise OutboundRefused(f"{host} is a cloud metadata service; migrator sends no requests there.")
    try:
        addresses = resolve(name, port)
    except OutboundRefused:
        if unresolvable_ok:
            return []
        raise
    for address in addresses:
        why = refusal(address)
        if why:
            raise OutboundRefused(
                f"{host} resolves to {address}: {why}. migrator sends no requests there; if this is really "
                "where the service runs, add its range to OUTBOUND_ALLOWED_NETWORKS.")
    return addresses


def check_url(url: str) -> str:
    """Registration-time check of an http(s) URL; returns it unchanged or raises :class:`OutboundRefused`."""
    parts = urlsplit((url or "").strip())
    try:
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"The port in {url!r} is not a number from 0 to 65535.") from None
    check_host(parts.hostname or "", port, unresolvable_ok=True)
    return url


class _GuardedBackend:
    """Wraps an httpcore (or httpcore2) network backend: connects only to checked addresses."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        addresses = check_host(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(str(address), port, *args, **kwargs)
            except OSError as exc:  # httpcore's ConnectError is an OSError subclass in neither; keep trying
                last = exc
            except Exception as exc:
                last = exc
        assert last is not None
        raise last

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def guard_transport(transport: Any) -> Any:
    """Make an httpx/httpx2 ``HTTPTransport`` connect only to addresses the policy allows (checked at connect time,
    on the very address connected to). Returns the transport."""
    pool = transport._pool  # httpcore's ConnectionPool: the one place its network backend can be set
    if not isinstance(pool._network_backend, _GuardedBackend):
        pool._network_backend = _GuardedBackend(pool._network_backend)
    return transport
