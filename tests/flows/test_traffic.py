"""Config API traffic: no database write on a call, a 304 in two queries, exact per-day counts after a flush."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from migrator.flows.models import ApiToken, ApiTokenDay, FlowTrafficDay
from migrator.flows.services import served_cache, traffic
from migrator.flows.services import tokens as token_services
from tests.cutover.helpers import serve
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db

CONFIG = {"model": "gpt-4o", "instructions": "v1", "tools": [], "truncation": "disabled", "store": True}


@pytest.fixture
def served(engineer):
    assistant = AssistantFactory(legacy_id="asst_traffic")
    v1 = make_version(assistant, CONFIG, approved=True)
    flow = FlowFactory(assistant=assistant, slug="traffic-flow", mode="stateless")
    serve(flow, v1)
    token, plaintext = token_services.create_token(actor=engineer, name="web", consumer="web team")
    return {"assistant": assistant, "flow": flow, "v1": v1, "token": token, "plaintext": plaintext}


def call(client: Client, plaintext: str, slug: str = "traffic-flow", etag: str | None = None):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    if etag:
        extra["HTTP_IF_NONE_MATCH"] = etag
    return client.get(f"/api/v1/flows/{slug}/config", **extra)


def redis_counter() -> traffic.RedisCounter:
    import os

    from migrator.celery import redis_answers

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not redis_answers(url):
        pytest.skip(f"Redis does not answer at {url}; the spool backend is tested without it")
    return traffic.RedisCounter(url, namespace=f"migrator:traffic:test:{uuid.uuid4().hex}")


@pytest.fixture(params=["spool", "redis"])
def backend(request, tmp_path):
    counter = traffic.SpoolCounter(tmp_path / "traffic") if request.param == "spool" else redis_counter()
    traffic.use_counter(counter)
    yield counter
    if request.param == "redis":
        for key in counter.client.scan_iter(match=counter.live_key.rsplit(":", 1)[0] + ":*"):
            counter.client.delete(key)


def test_a_304_costs_two_queries_and_writes_nothing(served, client, backend):
    etag = call(client, served["plaintext"])["ETag"]
    with CaptureQueriesContext(connection) as queries:
        response = call(client, served["plaintext"], etag=etag)
    assert response.status_code == 304
    assert len(queries) <= 2, [q["sql"] for q in queries]
    assert not [q for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]


def test_a_200_writes_nothing_either(served, client, backend):
    with CaptureQueriesContext(connection) as queries:
        assert call(client, served["plaintext"]).status_code == 200
    assert not [q for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]


def test_n_calls_are_exact_per_flow_version_and_day_after_a_flush(served, client, backend, engineer):
    plaintext, flow = served["plaintext"], served["flow"]
    etag = call(client, plaintext)["ETag"]  # 1 × 200 on v1
    for _ in range(6):
        assert call(client, plaintext, etag=etag).status_code == 304  # 6 × 304 on v1
    v2 = make_version(served["assistant"], {**CONFIG, "instructions": "v2"}, approved=True)
    serve(flow, v2)
    assert call(client, plaintext, etag=etag).status_code == 200  # the move is seen at once: 1 × 200 on v2
    for _ in range(4):
        call(client, plaintext)  # 4 × 200 on v2
    call(client, plaintext, slug="no-such-flow")  # the token's, not the flow's
    assert not FlowTrafficDay.objects.exists()

    result = traffic.flush()
    today = datetime.now(UTC).date()
    rows = {(r.version, r.day): (r.calls, r.not_modified) for r in FlowTrafficDay.objects.filter(flow=flow)}
    assert rows == {(1, today): (7, 6), (2, today): (5, 0)}
    assert result.calls == 13
    day = ApiTokenDay.objects.get(token=served["token"])
    assert (day.day, day.calls, day.not_modified) == (today, 13, 6)
    token = ApiToken.objects.get(pk=served["token"].pk)
    assert token.use_count == 13 and token.last_used_at is not None

    # A second round adds to the same rows; a flush with nothing pending changes nothing.
    for _ in range(3):
        call(client, plaintext)
    traffic.flush()
    traffic.flush()
    assert FlowTrafficDay.objects.get(flow=flow, version=2).calls == 8
    assert ApiToken.objects.get(pk=served["token"].pk).use_count == 16


def test_concurrent_calls_and_flushes_lose_nothing(served, backend):
    """Calls from several threads while flushes run: the per-day sums are exact."""
    per_thread, threads = 40, 4
    flow = served["flow"]
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(per_thread):
                traffic.record(token_id=served["token"].pk, flow_id=flow.pk, version=1, not_modified=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    while any(w.is_alive() for w in workers):
        traffic.flush()
    for worker in workers:
        worker.join()
    traffic.flush()
    assert not errors
    row = FlowTrafficDay.objects.get(flow=flow, version=1)
    assert row.calls == row.not_modified == per_thread * threads
    assert ApiTokenDay.objects.get(token=served["token"]).calls == per_thread * threads


def test_the_flush_command_and_a_damaged_spool_line(served, client, tmp_path, capsys):
    counter = traffic.SpoolCounter(tmp_path / "spool")
    traffic.use_counter(counter)
    call(client, served["plaintext"])
    with open(counter.path, "a") as spool:
        spool.write("garbage line\n")
    call_command("flush_traffic")
    assert "flushed 1 call(s)" in capsys.readouterr().out
    assert FlowTrafficDay.objects.get(flow=served["flow"]).calls == 1


def test_a_flow_limited_token_is_checked_in_the_same_query(served, client, engineer):
    other = FlowFactory(slug="other-flow", mode="stateless")
    _token, limited = token_services.create_token(actor=engineer, name="other", consumer="ops", flow_ids=[other.pk])
    with CaptureQueriesContext(connection) as queries:
        assert call(client, limited).status_code == 403
    assert len(queries) == 2
    allowed = served_cache.load_flow("other-flow", _token.pk)
    assert served_cache.token_may_read(allowed) is True


def test_the_flow_page_charts_traffic_per_day_and_version(served, client, admin_user, engineer):
    plaintext, flow = served["plaintext"], served["flow"]
    for _ in range(3):
        call(client, plaintext)
    v2 = make_version(served["assistant"], {**CONFIG, "instructions": "v2"}, approved=True)
    serve(flow, v2)
    call(client, plaintext)
    traffic.flush()
    client.force_login(admin_user)
    html = client.get(reverse("flows:detail", args=[flow.slug])).content.decode()
    assert 'data-testid="traffic-chart"' in html
    assert 'data-version="1" data-calls="3"' in html and 'data-version="2" data-calls="1"' in html
    # Drawn in SVG (the Content-Security-Policy refuses style attributes): v1 from the bottom, v2 on top of it.
    assert ('<rect class="traffic-seg traffic-v0" y="25.00%" width="100%" height="75.00%" data-version="1" '
            'data-calls="3"/><rect class="traffic-seg traffic-v1" y="0.00%" width="100%" height="25.00%"') in html
    tokens = client.get(reverse("flows:token_list")).content.decode()
    assert 'data-testid="token-days"' in tokens and 'data-calls="4"' in tokens
    assert '<rect y="0.0%" width="100%" height="100.0%"/>' in tokens and '<rect y="100.0%" width="100%" height="0.0%"/>' in tokens


def test_a_version_with_a_few_calls_stays_visible_in_the_chart():
    stacked = traffic._stack([{"pct": 80.0}, {"pct": 0.01}, {"pct": 10.0}])
    assert [(s["top"], s["height"]) for s in stacked] == [(20.0, 80.0), (19.0, 1.0), (9.0, 10.0)]
    assert stacked[1]["pct"] == 0.01  # the number itself stays exact


def test_a_remembered_etag_never_hides_a_change(served, client):
    """The 304 shortcut is keyed by everything the answer depends on: a change made behind the ORM's back
    (a queryset update, which bumps no timestamp) still reaches the client on its next request."""
    from migrator.core.models import Flow

    plaintext, flow = served["plaintext"], served["flow"]
    etag = call(client, plaintext)["ETag"]
    assert call(client, plaintext, etag=etag).status_code == 304
    # The flow's working settings are not what production gets (its release is): no change, still a 304.
    Flow.objects.filter(pk=flow.pk).update(truncation="auto")
    assert call(client, plaintext, etag=etag).status_code == 304
    # A release switched behind the ORM's back (no timestamp bumped) is seen on the next request.
    from migrator.core.actors import system
    from migrator.cutover.models import FlowRollout
    from migrator.cutover.services import releases

    flow.refresh_from_db()
    other = releases.ensure_release(flow=flow, version=served["v1"], spec=releases.spec_for(flow, served["v1"]),
                                    actor=system("tests"), origin="test")
    FlowRollout.objects.filter(flow=flow).update(production_release=other)
    changed = call(client, plaintext, etag=etag)
    assert changed.status_code == 200 and changed.json()["flow"]["truncation"] == "auto"
    assert changed.json()["release"] == other.hash and changed["ETag"].startswith('"' + other.hash[:32])
    assert changed["ETag"] != etag
    # A subject is remembered on its own (a ramp may serve it another version): the flow's ETag is not its.
    subject = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}", "HTTP_X_MIGRATOR_SUBJECT": "user-42"}
    url = "/api/v1/flows/traffic-flow/config"
    assert client.get(url, HTTP_IF_NONE_MATCH=changed["ETag"], **subject).status_code == 200
    own = client.get(url, **subject)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=own, **subject).status_code == 304


def test_a_ramp_shows_as_traffic_per_served_version(served, client):
    """At 50%, each subject's calls are counted on the version it was served: the per-version rows add up to
    exactly what the answers said, and a subject keeps its version (its 304s count on the same one)."""
    from migrator.cutover.models import FlowRollout

    plaintext, flow = served["plaintext"], served["flow"]
    v2 = make_version(served["assistant"], {**CONFIG, "instructions": "v2"}, approved=True)
    FlowRollout.objects.filter(flow=flow).update(candidate=v2, percent=50)
    seen = {1: 0, 2: 0}
    for i in range(60):
        answer = client.get("/api/v1/flows/traffic-flow/config", HTTP_AUTHORIZATION=f"Bearer {plaintext}",
                            HTTP_X_MIGRATOR_SUBJECT=f"user-{i}")
        number = answer.json()["version"]["number"]
        seen[number] += 1
        again = client.get("/api/v1/flows/traffic-flow/config", HTTP_AUTHORIZATION=f"Bearer {plaintext}",
                           HTTP_X_MIGRATOR_SUBJECT=f"user-{i}", HTTP_IF_NONE_MATCH=answer["ETag"])
        assert again.status_code == 304
    assert seen[1] and seen[2]
    traffic.flush()
    rows = {r.version: (r.calls, r.not_modified) for r in FlowTrafficDay.objects.filter(flow=flow)}
    assert rows == {1: (2 * seen[1], seen[1]), 2: (2 * seen[2], seen[2])}


def test_a_remembered_token_costs_no_query_and_never_outlives_its_revocation(served, client):
    plaintext = served["plaintext"]
    first = call(client, plaintext)
    assert first.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert call(client, plaintext, etag=first["ETag"]).status_code == 304
    assert len(queries) == 1  # the token check is remembered; the one statement re-reads its revocation
    # Revoked by another process (no chance to forget it here): the very next call is refused all the same.
    ApiToken.objects.filter(pk=served["token"].pk).update(revoked_at=datetime.now(UTC))
    refused = call(client, plaintext, etag=first["ETag"])
    assert refused.status_code == 401 and "was revoked" in refused.json()["error"]["message"]
    ApiToken.objects.filter(pk=served["token"].pk).delete()
    assert call(client, plaintext).status_code == 401
