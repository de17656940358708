"""One outbound policy for connections and webhooks (issue 21, finding 7): internal addresses are refused at
registration and again at connect time, in every spelling."""

from __future__ import annotations

import socket

import httpx
import pytest

from migrator.core.outbound import OutboundRefused, check_url, guard_transport
from migrator.core.services import ServiceError
from migrator.core.services.connections import save_connection
from migrator.webhooks import services as webhook_services

INTERNAL = ["http://169.254.169.254/latest/meta-data", "http://metadata.google.internal/computeMetadata/v1",
            "http://[fd00:ec2::254]/", "http://[fe80::1]/", "http://0.0.0.0:80/", "http://100.100.100.200/"]
LOOPBACK = ["http://127.0.0.1:9/v1", "http://2130706433/v1", "http://127.1/v1", "http://0x7f.1/v1",
            "http://[::1]:9/v1", "http://[::ffff:127.0.0.1]/v1", "http://localhost:9/v1"]


@pytest.mark.parametrize("url", INTERNAL)
def test_metadata_and_link_local_addresses_are_refused_even_under_debug(url, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]  # the debug/test default
    with pytest.raises(OutboundRefused):
        check_url(url)


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_in_any_spelling_is_refused_in_production_and_allowed_by_the_setting(url, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(OutboundRefused, match="loopback"):
        check_url(url)
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    assert check_url(url) == url


def test_private_networks_stay_allowed(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert check_url("http://10.1.2.3:8080/v1") and check_url("https://192.168.1.10/v1")


def test_connections_and_webhooks_refuse_internal_addresses_at_registration(db, engineer, admin_user, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(OutboundRefused, match="metadata"):
        save_connection(actor=engineer, name="Evil", base_url="http://169.254.169.254/v1", api_key="sk-x-123456")
    with pytest.raises(OutboundRefused, match="loopback"):
        save_connection(actor=engineer, name="Evil", base_url="http://2130706433:8000/v1", api_key="sk-x-123456")
    with pytest.raises(ServiceError, match="metadata"):
        webhook_services._clean("Evil", "http://metadata.google.internal/")
    with pytest.raises(ServiceError, match="loopback"):
        webhook_services._clean("Evil", "http://127.1:9000/hook")


def test_a_name_that_resolves_to_an_internal_address_at_connect_time_is_refused_dns_rebinding(settings, monkeypatch):
    """Registered while it resolved outside; at connect time it resolves to the metadata address."""
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    answers = iter(["93.184.216.34", "169.254.169.254"])
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert check_url("http://rebind.example/hook")  # first answer: fine
    client = httpx.Client(transport=guard_transport(httpx.HTTPTransport()), timeout=2)
    with pytest.raises(OutboundRefused, match=r"169\.254\.169\.254"):
        client.get("http://rebind.example/hook")
