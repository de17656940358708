"""`seed_demo` (what `make run` calls) against a real sandbox: accounts, connection, inventory, prompts."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from migrator.core.models import Assistant, Connection, Flow
from migrator.core.status import MigrationStatus as S

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_usable_demo_and_is_idempotent(sandbox, capsys):
    sandbox.reset("demo")
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123")
    out = capsys.readouterr().out
    assert "demo-pass-123" in out
    for username in ("admin", "product", "engineer", "support"):
        assert authenticate(username=username, password="demo-pass-123") is not None, username
    connection = Connection.objects.get(name="Sandbox")
    assert connection.is_sandbox and connection.base_url == sandbox.base_url.rstrip("/")
    assert Assistant.objects.count() >= 30
    assert Assistant.objects.filter(status=S.PROMPT_APPROVED).count() >= 2
    assert Assistant.objects.filter(status=S.PROMPT_DRAFTED).exists()
    # The busiest assistant carries most traffic, as the demo organisation is skewed on purpose.
    top = Assistant.objects.order_by("-traffic_share").first()
    assert top.traffic_share > 0.1 and top.message_count > 0

    flows = Flow.objects.all()
    assert flows.count() >= 4 and flows.exclude(mode="").count() == 2
    assert all(f.recommended_mode for f in flows)

    counts = dict(Assistant.objects.values_list("legacy_id", "status"))
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123")
    assert dict(Assistant.objects.values_list("legacy_id", "status")) == counts
    assert Flow.objects.count() == flows.count()
