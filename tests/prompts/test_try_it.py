"""Try it: one responses.create with a chosen version, through the real SDK over HTTP to the sandbox."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from migrator.core.models import JobStatus
from migrator.core.services.connections import ensure_sandbox_connection
from migrator.prompts import services
from tests.factories import AssistantFactory
from tests.prompts.factories import PromptVersionFactory
from tests.threads import job_thread

pytestmark = pytest.mark.django_db

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_try_a_generated_version_on_the_default_sandbox(sandbox, product_owner, run_queued_jobs):
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.", tools=[WEATHER])
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    with override_settings(SANDBOX_URL=sandbox.base_url, SANDBOX_API_KEY=sandbox.api_key):
        job = services.start_try(version_id=version.pk, actor=product_owner, input_text="What's the weather in Oslo?")
    assert job.kind == "prompts.try_version" and job.subject_id == str(assistant.pk)
    [done] = run_queued_jobs()
    assert done.status == JobStatus.SUCCEEDED, done.error
    result = done.result
    assert result["status"] == "completed" and result["response_id"].startswith("resp_")
    assert result["output"] and all("type" in item for item in result["output"])
    assert result["usage"]["total_tokens"] > 0 and result["usage"]["input_tokens"] > 0
    assert result["latency_ms"] >= 0 and result["version"] == version.number
    assert result["connection"] == "Sandbox"


def test_the_try_job_page_reads_as_a_report(client, sandbox, product_owner, run_queued_jobs):
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.", tools=[WEATHER])
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    with override_settings(SANDBOX_URL=sandbox.base_url, SANDBOX_API_KEY=sandbox.api_key):
        job = services.start_try(version_id=version.pk, actor=product_owner, input_text="Please get weather for city=Oslo")
    run_queued_jobs()
    client.force_login(product_owner)
    page = client.get(job.get_absolute_url()).content.decode()
    assert f'Send <a href="{version.get_absolute_url()}">v1 of {assistant.display_name}</a> to Sandbox' in page
    assert "the response came back <strong>completed</strong>" in page and 'data-testid="try-usage"' in page
    assert 'data-testid="try-tool-call"' in page and "get_weather" in page


def test_the_api_error_is_recorded_readably(sandbox, product_owner, run_queued_jobs):
    connection = ensure_sandbox_connection(base_url=sandbox.base_url, api_key=sandbox.api_key)
    version = PromptVersionFactory(config={"model": "gpt-4-32k", "instructions": "Hi"})
    services.start_try(version_id=version.pk, actor=product_owner, input_text="hello", connection_id=connection.pk)
    [done] = run_queued_jobs()
    assert done.status == JobStatus.FAILED
    assert done.error.startswith("responses.create: HTTP 404") and "sk-" not in done.error


def test_strict_schema_problems_surface_from_the_api(sandbox, product_owner, run_queued_jobs):
    connection = ensure_sandbox_connection(base_url=sandbox.base_url, api_key=sandbox.api_key)
    loose = {"type": "function", "name": "f", "strict": True,
             "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}
    version = PromptVersionFactory(config={"model": "gpt-5.5", "tools": [loose]})
    services.start_try(version_id=version.pk, actor=product_owner, input_text="hello", connection_id=connection.pk)
    [done] = run_queued_jobs()
    assert done.status == JobStatus.FAILED and "HTTP 400" in done.error


def test_try_via_the_page_redirects_to_the_job(client, sandbox, engineer, product_owner):
    assistant = AssistantFactory(model="gpt-5.5")
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    connection = ensure_sandbox_connection(base_url=sandbox.base_url, api_key=sandbox.api_key)
    client.force_login(engineer)
    response = client.post(f"/prompts/versions/{version.pk}/try/", {"input": "hi", "connection": connection.pk})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")


def test_try_input_is_required(product_owner):
    version = PromptVersionFactory()
    with pytest.raises(services.ServiceError, match="sample input"):
        services.start_try(version_id=version.pk, actor=product_owner, input_text="  ")


@pytest.mark.parametrize("mode", ["conversation", "previous_response", "stateless"])
def test_try_continues_as_a_conversation_with_tool_calls_answered_by_hand(
        client, sandbox, product_owner, run_queued_jobs, mode):
    from migrator.prompts import trying

    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.", tools=[WEATHER])
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    with override_settings(SANDBOX_URL=sandbox.base_url, SANDBOX_API_KEY=sandbox.api_key):
        first = services.start_try(version_id=version.pk, actor=product_owner, mode=mode,
                                   input_text="My name is Ada. Please get weather for city=Oslo")
    [first] = run_queued_jobs()
    assert first.status == JobStatus.SUCCEEDED, first.error
    assert first.result["mode"] == mode and first.result["turn"] == 1
    [call] = first.result["pending_calls"]
    assert call["name"] == "get_weather"
    if mode == "conversation":
        assert first.result["conversation_id"].startswith("conv_")

    # Every call needs the output the app would return.
    with pytest.raises(services.ServiceError, match="Type what the app would return for the tool call get_weather"):
        trying.continue_try(job_id=first.pk, actor=product_owner, input_text="and?")
    client.force_login(product_owner)
    page = client.get(first.get_absolute_url()).content.decode()
    assert 'data-testid="try-continue"' in page and f'name="output_{call["call_id"]}"' in page
    response = client.post(reverse("prompts:try_continue", args=[first.pk]),
                           {f"output_{call['call_id']}": '{"forecast": "rain, 7 C"}'})
    assert response.status_code == 302
    [second] = run_queued_jobs()
    assert second.status == JobStatus.SUCCEEDED, second.error
    assert second.result["turn"] == 2 and second.result["previous_job_id"] == first.pk
    assert "rain, 7 C" in second.result["output_text"]  # the model read the typed output
    assert second.result["pending_calls"] == []

    third = trying.continue_try(job_id=second.pk, actor=product_owner, input_text="What is my name?")
    [third] = run_queued_jobs()
    assert third.status == JobStatus.SUCCEEDED, third.error
    assert "Ada" in third.result["output_text"]  # the state mode carried the earlier turns
    assert [t["turn"] for t in third.result["transcript"]] == [1, 2, 3]
    page = client.get(third.get_absolute_url()).content.decode()
    assert 'data-testid="try-transcript"' in page and "Tool output" in page and "rain, 7 C" in page


def test_a_failed_try_cannot_be_continued(product_owner):
    from migrator.prompts import trying
    from tests.factories import JobFactory

    job = JobFactory(kind="prompts.try_version", status=JobStatus.FAILED)
    with pytest.raises(services.ServiceError, match="did not succeed"):
        trying.continue_try(job_id=job.pk, actor=product_owner, input_text="hi")


def _live_events(response) -> list[tuple[str, dict]]:
    import json

    raw = b"".join(response.streaming_content).decode()
    found = []
    for block in filter(None, raw.split("\n\n")):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((fields.get("event", "message"), json.loads(fields["data"])))
    return found


def test_the_answer_streams_into_the_job_page(client, sandbox, product_owner, run_queued_jobs):
    from migrator.prompts.models import TryLiveText

    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.")
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    with override_settings(SANDBOX_URL=sandbox.base_url, SANDBOX_API_KEY=sandbox.api_key):
        job = services.start_try(version_id=version.pk, actor=product_owner, input_text="Hello, my name is Ada.")
    client.force_login(product_owner)
    page = client.get(job.get_absolute_url()).content.decode()
    live_url = reverse("prompts:try_live", args=[job.pk])
    assert f'data-live-url="{live_url}"' in page and "<script>" not in page  # static JS only (CSP)
    [done] = run_queued_jobs()
    assert done.status == JobStatus.SUCCEEDED, done.error
    live = TryLiveText.objects.get(job=done)
    assert live.done and live.text == done.result["output_text"] and "You said" in live.text
    events = _live_events(client.get(live_url))
    assert events[0] == ("message", {"append": live.text}) and events[-1] == ("done", {"status": "succeeded"})
    assert "data-live-url" not in client.get(job.get_absolute_url()).content.decode()  # finished: the report shows it
    assert client.get(reverse("prompts:try_live", args=[999999])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_live_answer_arrives_in_pieces_while_the_try_runs(client, make_sandbox, product_owner):
    """A worker thread runs the try against a sandbox that paces its events; the page's stream, read at the
    same time, gets the answer in several pieces before ``done``."""
    slow = make_sandbox(stream_delay_ms=40, seed="empty")
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.")
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    with override_settings(SANDBOX_URL=slow.base_url, SANDBOX_API_KEY=slow.api_key):
        job = services.start_try(version_id=version.pk, actor=product_owner,
                                 input_text="Hello there, my name is Ada and I would like a long answer please.")
    worker = job_thread(job.pk)  # as a worker would
    client.force_login(product_owner)
    events = _live_events(client.get(reverse("prompts:try_live", args=[job.pk])))
    worker.join(timeout=60)
    pieces = [data["append"] for name, data in events if name == "message"]
    assert len(pieces) >= 3, pieces
    assert events[-1][0] == "done"
    job.refresh_from_db()
    assert "".join(pieces) == job.result["output_text"]


def test_continuing_an_engineers_try_on_a_billed_connection_needs_the_right_to_use_that_connection(
        product_owner, support_lead, engineer):
    """Issue 21, finding 8: the next turn runs on the try's connection, so continuing is using it."""
    from migrator.core.services import NotAllowed
    from migrator.prompts import trying
    from tests.factories import ConnectionFactory, JobFactory

    billed = ConnectionFactory(name="Production", is_sandbox=False)
    job = JobFactory(kind="prompts.try_version", status=JobStatus.SUCCEEDED, created_by=engineer,
                     params={"connection_id": billed.pk, "version_id": 1},
                     result={"turn": 1, "pending_calls": [], "mode": "stateless", "version_id": 1})
    for outsider in (product_owner, support_lead):
        with pytest.raises(NotAllowed, match="may not use the connection “Production”"):
            trying.continue_try(job_id=job.pk, actor=outsider, input_text="and then?")
    assert JobStatus.QUEUED not in set(type(job).objects.values_list("status", flat=True))
    again = trying.continue_try(job_id=job.pk, actor=engineer, input_text="and then?")
    assert again.params["connection_id"] == billed.pk and again.status == JobStatus.QUEUED
