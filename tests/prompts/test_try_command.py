"""``manage.py try``: the command door of the prompt page's *Try it*, through the same services, against a real
sandbox: a first turn whose tool call waits, the next turn with the call's output, and the refusals."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from migrator.core.models import Job
from migrator.core.services.connections import ensure_sandbox_connection
from migrator.prompts import services
from tests.factories import AssistantFactory, UserFactory

pytestmark = pytest.mark.django_db

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _try(*args: str) -> dict:
    out = StringIO()
    call_command("try", *args, "--sync", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.slow  # three turns against the sandbox: a few seconds
def test_try_then_continue_with_the_tool_output_in_json(sandbox, product_owner):
    connection = ensure_sandbox_connection(base_url=sandbox.base_url, api_key=sandbox.api_key)
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.", tools=[WEATHER])
    services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    first = _try("--assistant", assistant.legacy_id, "--input", "Please get weather for city=Oslo",
                 "--connection", connection.name, "--mode", "stateless", "--by", product_owner.username)
    assert first["status"] == "succeeded" and first["version"] == 1 and first["turn"] == 1, first
    assert first["mode"] == "stateless" and first["connection"] == connection.name
    [call] = first["pending_calls"]
    assert call["name"] == "get_weather" and first["usage"]["total_tokens"] > 0
    job = Job.objects.get(pk=first["job"])
    assert job.kind == services.TRY_JOB_KIND and job.created_by == product_owner  # the page's job, as the user

    # Continuing without the call's output is refused with the page's words.
    with pytest.raises(CommandError, match="Refused: Type what the app would return for the tool call get_weather"):
        call_command("try", "--continue", str(first["job"]), "--by", product_owner.username)
    second = _try("--continue", str(first["job"]), "--output", f"{call['call_id']}={{\"temp_c\": 3}}",
                  "--input", "Thanks", "--by", product_owner.username)
    assert second["status"] == "succeeded" and second["turn"] == 2 and second["output_text"], second
    assert Job.objects.get(pk=second["job"]).params["previous_job_id"] == first["job"]

    words = StringIO()
    call_command("try", "--assistant", assistant.legacy_id, "--input", "Please get weather for city=Rome",
                 "--connection", connection.name, "--by", product_owner.username, "--sync", stdout=words)
    assert "waits for an output: --continue" in words.getvalue() and "tokens in" in words.getvalue()


def test_try_refuses_clearly(product_owner):
    assistant = AssistantFactory(model="gpt-4o")
    with pytest.raises(CommandError, match="has no prompt version yet"):
        call_command("try", "--assistant", assistant.legacy_id, "--input", "hi", "--by", product_owner.username)
    services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    with pytest.raises(CommandError, match="has no v7"):
        call_command("try", "--assistant", assistant.legacy_id, "--version", "7", "--input", "hi",
                     "--by", product_owner.username)
    with pytest.raises(CommandError, match="No assistant 'asst_nope'"):
        call_command("try", "--assistant", "asst_nope", "--input", "hi", "--by", product_owner.username)
    with pytest.raises(CommandError, match="No active user named 'nobody'"):
        call_command("try", "--assistant", assistant.legacy_id, "--input", "hi", "--by", "nobody")
    with pytest.raises(CommandError, match="No connection named 'nope'"):
        call_command("try", "--assistant", assistant.legacy_id, "--input", "hi", "--connection", "nope",
                     "--by", product_owner.username)
    with pytest.raises(CommandError, match="Refused: Write a sample input"):
        call_command("try", "--assistant", assistant.legacy_id, "--by", product_owner.username)
    with pytest.raises(CommandError, match="use it with --continue"):
        call_command("try", "--assistant", assistant.legacy_id, "--input", "hi", "--output", "c=1",
                     "--by", product_owner.username)
    with pytest.raises(CommandError, match="No try #999999"):
        call_command("try", "--continue", "999999", "--input", "hi", "--by", product_owner.username)
    outsider = UserFactory(username="no-role")  # in no group: may not try versions
    with pytest.raises(CommandError, match="Refused: You may not try prompt versions"):
        call_command("try", "--assistant", assistant.legacy_id, "--input", "hi", "--by", outsider.username)
