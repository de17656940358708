"""A flow that streams in production is replayed streamed: the events must assemble into the final response,
the answers are the same as a non-streamed replay's, and time to first token is measured beside latency."""

from __future__ import annotations

from io import StringIO

import pytest
from django.urls import reverse

from migrator.core.actors import SYSTEM
from migrator.core.openai_client import client_for
from migrator.validation.management.commands.validate import Command as ValidateCommand
from migrator.validation.management.commands.validate import result_json
from migrator.validation.models import Verdict
from migrator.validation.replay import CallFailed, Replayer, TurnOutcome, _consume_stream
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services
from tests.validation.recording import make_flow

pytestmark = pytest.mark.django_db


def _run(rec, flow):
    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, flow_id=flow.pk,
                                            name=f"replay {flow.slug}", strategy="recent", sample_size=10)
    run = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=rec.connection,
                                  config=dict(rec.version.config), config_label="test", prompt_version=rec.version,
                                  concurrency=3, source="test")
    return run_services.execute_run(run_id=run.pk, actor=SYSTEM)


@pytest.mark.parametrize("mode", ["stateless", "conversation", "previous_response"])
def test_streaming_flow_replays_streamed_with_time_to_first_token(weather, mode):
    plain_flow = make_flow(weather.assistant, mode=mode, slug="weather-plain")
    streaming_flow = make_flow(weather.assistant, mode=mode, slug="weather-streams")
    streaming_flow.streams = True
    streaming_flow.save(update_fields=["streams"])
    plain, streamed = _run(weather, plain_flow), _run(weather, streaming_flow)
    assert plain.options["stream"] is False and streamed.options["stream"] is True
    assert streamed.verdict == plain.verdict == Verdict.PASS, streamed.summary
    answers = {r.case.key: r.answer_text for r in plain.results.all()}
    results = list(streamed.results.all())
    assert {r.case.key: r.answer_text for r in results} == answers  # the streamed answers are the same
    assert all(r.ttft_ms is not None and r.ttft_ms <= r.latency_ms for r in results if r.answer_text)
    assert all(r.ttft_ms is None for r in plain.results.all())
    assert streamed.totals["streamed"] is True and streamed.totals["ttft_p50_ms"] is not None
    assert plain.totals["ttft_p50_ms"] is None


def test_report_shows_time_to_first_token(weather, admin_client):
    flow = make_flow(weather.assistant, mode="stateless", slug="weather-streams")
    flow.streams = True
    flow.save(update_fields=["streams"])
    run = _run(weather, flow)
    page = admin_client.get(reverse("validation:run_detail", args=[run.pk])).content.decode()
    assert "Time to first token" in page and f"p50 {run.totals['ttft_p50_ms']} ms" in page
    out = StringIO()
    command = ValidateCommand(stdout=out)
    command._summary(run)  # what `manage.py validate` prints after a run
    assert f"Streamed: time to first token p50 {run.totals['ttft_p50_ms']} ms" in out.getvalue()
    assert result_json(run)["totals"]["ttft_p95_ms"] == run.totals["ttft_p95_ms"]  # and --json carries it


def _events(weather, **headers):
    client = client_for(weather.connection, max_retries=0).with_options(default_headers=headers)
    return list(client.responses.create(model="gpt-4o", input="Hello, my name is Ada.", stream=True))


def test_events_that_do_not_assemble_fail_the_call(weather):
    events = _events(weather)
    assert _consume_stream(iter(events), TurnOutcome()).status == "completed"
    delta = next(e for e in events if e.type == "response.output_text.delta")
    delta.delta = delta.delta.upper() + "!"
    with pytest.raises(CallFailed, match="do not assemble") as err:
        _consume_stream(iter(events), TurnOutcome())
    assert not err.value.retryable
    with pytest.raises(CallFailed, match="ended before its final event") as err:
        _consume_stream(iter(events[:-1]), TurnOutcome())
    assert err.value.retryable


def test_cut_and_failed_streams_are_reported(weather):
    config = dict(weather.version.config)
    for headers, expected, retryable in (
        ({"x-sandbox-fault": "stream-cut"}, "incomplete chunked read", True),
        ({"x-sandbox-fault": "stream-error"}, "error event mid-stream", False),
    ):
        client = client_for(weather.connection, max_retries=0).with_options(default_headers=headers)
        replayer = Replayer(client, config=config, mode="stateless", store=True, stream=True, retries=1,
                            sleep=lambda _s: None)
        outcome = TurnOutcome()
        with pytest.raises(CallFailed, match=expected) as err:
            replayer._turn(outcome, [{"role": "user", "content": "hi"}], [])
        assert err.value.retryable is retryable
