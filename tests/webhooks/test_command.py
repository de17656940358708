"""``manage.py webhook add|test``: the command doors of the Webhooks page."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from migrator.core.models import AuditEvent
from migrator.webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("webhook", *args, stdout=out)
    return out.getvalue()


def test_add_then_test_an_endpoint_as_a_user(engineer, product_owner):
    body = json.loads(_run("add", "--name", "Support relay", "--url", "https://example.com/hook",
                           "--event", "cutover.approved", "--by", engineer.username, "--json"))
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.events == ["cutover.approved"] and body["secret"]
    assert AuditEvent.objects.get(verb="migrator.webhook.created").actor == engineer
    tested = json.loads(_run("test", "--name", "Support relay", "--by", engineer.username, "--json"))
    assert Delivery.objects.get(pk=tested["delivery"]).endpoint == endpoint
    assert "queued" in _run("test", "--id", str(endpoint.pk), "--by", engineer.username)
    with pytest.raises(CommandError, match="No webhook endpoint #999"):
        _run("test", "--id", "999", "--by", engineer.username)
    with pytest.raises(CommandError, match="Refused"):
        _run("add", "--name", "x", "--url", "https://example.com/x", "--event", "cutover.approved",
             "--by", product_owner.username)
    with pytest.raises(CommandError, match=r"Refused: .*event"):
        _run("add", "--name", "none", "--url", "https://example.com/y", "--by", engineer.username)
