"""``manage.py api_token create``: the exact CLI contract automation relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from migrator.core.models import AuditEvent
from migrator.flows.models import ApiToken
from migrator.flows.services.tokens import TOKEN_RE, authenticate
from tests.factories import FlowFactory

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_json_prints_only_the_token_once_and_it_authenticates():
    out, err = _run("create", "--name", "deploy bot", "--consumer", "checkout team", "--json")
    body = json.loads(out)
    assert list(body) == ["token"]
    assert TOKEN_RE.match(body["token"])
    token = authenticate(f"Bearer {body['token']}")
    assert (token.name, token.consumer) == ("deploy bot", "checkout team")
    assert token.created_by is None
    assert list(token.flows.all()) == []  # no --flow: every flow
    assert body["token"] not in err  # details go to stderr, the secret only to stdout
    assert token.display_prefix in err
    # Only the hash is stored, never the plaintext.
    assert not ApiToken.objects.filter(token_hash=body["token"]).exists()
    event = AuditEvent.objects.get(verb="migrator.apitoken.created")
    assert (event.actor_kind, event.actor_label, event.actor) == ("system", "the api_token command", None)


@pytest.mark.django_db
def test_flows_limit_the_token_and_the_api_enforces_it(client):
    checkout, support, other = FlowFactory(slug="checkout"), FlowFactory(slug="support"), FlowFactory(slug="other")
    out, _ = _run("create", "--name", "n", "--consumer", "c", "--flow", "checkout", "--flow", "support")
    plaintext = out.strip()
    token = authenticate(f"Bearer {plaintext}")
    assert set(token.flows.values_list("slug", flat=True)) == {"checkout", "support"}
    headers = {"Authorization": f"Bearer {plaintext}"}
    refused = client.get(f"/api/v1/flows/{other.slug}/config", headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "token_not_allowed"
    allowed = client.get(f"/api/v1/flows/{checkout.slug}/config", headers=headers)
    assert allowed.status_code == 409  # authenticated and allowed; the flow just has no mode yet
    assert support.pk in token.flows.values_list("pk", flat=True)


@pytest.mark.django_db
def test_unknown_flow_and_blank_fields_are_refused_without_writing():
    FlowFactory(slug="checkout")
    with pytest.raises(CommandError, match="'nope'"):
        _run("create", "--name", "n", "--consumer", "c", "--flow", "checkout", "--flow", "nope")
    with pytest.raises(CommandError, match="Say who holds the token"):
        _run("create", "--name", "n", "--consumer", "  ")
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(verb="migrator.apitoken.created").exists()


@pytest.mark.slow
def test_refusal_exits_non_zero_from_the_shell(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "MIGRATOR_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True,
                   capture_output=True)
    bad = subprocess.run([sys.executable, "manage.py", "api_token", "create", "--name", "n", "--consumer", "c",
                          "--flow", "missing", "--json"], cwd=REPO, env=env, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "missing" in bad.stderr and bad.stdout == ""
    good = subprocess.run([sys.executable, "manage.py", "api_token", "create", "--name", "n", "--consumer", "c",
                           "--json"], cwd=REPO, env=env, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert TOKEN_RE.match(json.loads(good.stdout)["token"])


@pytest.mark.django_db
def test_revoke_by_id_or_prefix_with_a_reason_and_json():
    out, _err = _run("create", "--name", "old bot", "--consumer", "ops", "--json")
    token = authenticate(f"Bearer {json.loads(out)['token']}")
    with pytest.raises(CommandError, match="No API token #999"):
        _run("revoke", "--id", "999", "--reason", "x")
    out, _err = _run("revoke", "--prefix", token.display_prefix + "…", "--reason", "leaked in a log", "--json")
    body = json.loads(out)
    assert body["id"] == token.pk and body["already_revoked"] is False
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(verb="migrator.apitoken.revoked")
    assert event.data["reason"] == "leaked in a log" and event.actor_label == "the api_token command"
    out, _err = _run("revoke", "--id", str(token.pk), "--reason", "again")
    assert "was already revoked" in out
