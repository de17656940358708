"""Keys stay with their host (issue 21, finding 2): moving a connection's base URL to another host needs the key
again, or a confirmation naming the new host; the audit event says which."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrator.core.models import AuditEvent, Connection
from migrator.core.services.connections import KeyNotRebound, key_host, save_connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def _login(client, user) -> None:
    client.force_login(user)


def _stored(api_key: str = "sk-prod-secret-0123456789") -> Connection:
    connection = ConnectionFactory(name="Prod", base_url="https://api.openai.com/v1")
    connection.set_api_key(api_key)
    connection.save()
    return connection


def test_moving_the_base_url_to_another_host_without_the_key_is_refused_and_the_key_not_moved(client, engineer):
    connection = _stored()
    _login(client, engineer)
    edit = reverse("inventory:connection_edit", args=[connection.pk])
    response = client.post(edit, {"name": "Prod", "base_url": "https://attacker.example/v1", "api_key": ""})
    assert response.status_code == 422
    error = " ".join(response.context["form"].errors["api_key"])
    assert "https://api.openai.com" in error and "https://attacker.example" in error
    connection.refresh_from_db()
    assert connection.base_url == "https://api.openai.com/v1"  # the key never goes to the new host
    assert not AuditEvent.objects.filter(verb="migrator.connection.updated").exists()
    # A confirmation naming another host than the new one does not count either.
    response = client.post(edit, {"name": "Prod", "base_url": "https://attacker.example/v1", "api_key": "",
                                  "confirm_host": "https://api.openai.com"})
    assert response.status_code == 422


def test_the_stored_key_moves_only_with_a_confirmation_naming_the_new_host_and_the_audit_says_so(client, engineer):
    connection = _stored()
    _login(client, engineer)
    edit = reverse("inventory:connection_edit", args=[connection.pk])
    response = client.post(edit, {"name": "Prod", "base_url": "https://llm.example.com:8443/v1", "api_key": "",
                                  "confirm_host": "https://LLM.example.com:8443/"})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.base_url == "https://llm.example.com:8443/v1"
    assert connection.get_api_key() == "sk-prod-secret-0123456789"
    event = AuditEvent.objects.get(verb="migrator.connection.updated")
    assert event.data["key"] == "kept, re-confirmed for https://llm.example.com:8443 (was https://api.openai.com)"


def test_a_new_key_or_the_same_host_needs_no_confirmation(engineer):
    connection = _stored()
    save_connection(actor=engineer, name="Prod", base_url="https://api.openai.com/v2", connection=connection)
    assert AuditEvent.objects.latest("pk").data["key"] == "kept (same host)"
    save_connection(actor=engineer, name="Prod", base_url="https://other.example/v1", api_key="sk-other-key-987654",
                    connection=connection)
    assert AuditEvent.objects.latest("pk").data["key"] == "new key"
    with pytest.raises(KeyNotRebound):  # a port or a scheme is another host too
        save_connection(actor=engineer, name="Prod", base_url="http://other.example/v1", connection=connection)
    with pytest.raises(KeyNotRebound):
        save_connection(actor=engineer, name="Prod", base_url="https://other.example:444/v1", connection=connection)


def test_key_host_names_scheme_host_and_a_port_only_when_it_is_not_the_default():
    assert key_host("https://API.openai.com/v1") == "https://api.openai.com"
    assert key_host("https://api.openai.com:443/v1") == "https://api.openai.com"
    assert key_host("http://127.0.0.1:8765/v1") == "http://127.0.0.1:8765"
    assert key_host("https://[::1]:8443/v1") == "https://[::1]:8443"
