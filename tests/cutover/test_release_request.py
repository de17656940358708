"""One request builder: what validation sends is what the config API's body builds, field for field.

- the release hash covers every part of a release and nothing else;
- the production client the README shows (``migrator-client``) builds the same requests as
  ``migrator.core.release.build_request``;
- for every demo flow the config API serves (each release it serves: production, and the candidate while a
  ramp runs), a validation run of that release sends, request for request, what the body builds; the
  requests are read off the wire by a recording proxy in front of the sandbox.
"""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from migrator.core.actors import system
from migrator.core.release import PER_REQUEST_KEYS, build_request, make_release, release_from_body
from migrator.core.services.connections import save_connection
from migrator.cutover.models import FlowRollout
from migrator.cutover.serving import flow_config, on_candidate
from migrator.validation.models import TestSet
from migrator.validation.services import runs as run_services

CONFIG = {"model": "gpt-4.1", "instructions": "Be brief.", "tools": [{"type": "function", "name": "f",
                                                                      "parameters": {}, "strict": False}]}


def test_the_hash_covers_every_part_of_a_release_and_nothing_else():
    base = make_release(config=CONFIG, mode="conversation", truncation="disabled", store=True)
    same = make_release(config=dict(reversed(list(CONFIG.items()))), mode="conversation", truncation="disabled",
                        store=True)
    assert base.hash == same.hash and len(base.hash) == 64
    variants = [
        make_release(config=CONFIG, mode="stateless", truncation="disabled", store=True),
        make_release(config=CONFIG, mode="conversation", truncation="auto", store=True),
        make_release(config=CONFIG, mode="conversation", truncation="disabled", store=False),
        make_release(config={**CONFIG, "model": "gpt-5.4-mini"}, mode="conversation", truncation="disabled",
                     store=True),
        make_release(config={**CONFIG, "tools": []}, mode="conversation", truncation="disabled", store=True),
        make_release(config={**CONFIG, "temperature": 0.2}, mode="conversation", truncation="disabled", store=True),
    ]
    assert len({v.hash for v in variants} | {base.hash}) == len(variants) + 1
    # Per-request state in a stored configuration is not part of the release; the flow's truncation wins.
    noisy = make_release(config={**CONFIG, "input": "hi", "stream": True, "truncation": "auto"},
                         mode="conversation", truncation="disabled", store=True)
    assert noisy.hash == base.hash


@pytest.mark.parametrize("mode", ["stateless", "conversation", "previous_response"])
def test_the_production_client_builds_the_same_request(mode):
    """The README's production code is ``migrator-client``: each request it makes from a config API answer is
    the one ``build_request`` makes from that answer's release."""
    from types import SimpleNamespace

    from migrator_client.client import _Turn

    release = make_release(config=CONFIG, mode=mode, truncation="auto", store=True)
    body = {"release": release.hash, "config": release.call, "rollout": {"served": "production"},
            "flow": {"mode": mode, "state_param": release.state_param, "truncation": "auto", "store": True}}
    assert release_from_body(body).hash == release.hash
    history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "answer"}]
    prior = {"stateless": {"h": history}, "conversation": {"c": "conv_1"},
             "previous_response": {"p": "resp_1"}}[mode]
    turn = _Turn(SimpleNamespace(migrator=SimpleNamespace(openai=None)), None, body, dict(prior), "hello", {}, False)
    new = [{"role": "user", "content": "hello"}]
    sent = turn._request(new, None)
    state = {"stateless": None, "conversation": "conv_1", "previous_response": "resp_1"}[mode]
    expected = build_request(release, input=(history + new) if mode == "stateless" else new, state=state)
    assert sent == expected


# --- what validation sends vs what the config API body builds, for every demo flow ----------------------------


class _Recorder:
    """A forwarding HTTP proxy in front of the sandbox that keeps every JSON body POSTed to /responses."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.bodies: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                path = self.path
                if self.command == "POST" and path.rstrip("/").endswith("/responses") and data:
                    recorder.bodies.append(json.loads(data))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(recorder.upstream + path.removeprefix("/v1"), data=data,
                                                 headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=60) as reply:
                        status, body, reply_headers = reply.status, reply.read(), reply.headers
                except urllib.error.HTTPError as exc:
                    status, body, reply_headers = exc.code, exc.read(), exc.headers
                self.send_response(status)
                for key, value in reply_headers.items():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _subject_on(flow, rollout, role: str) -> str | None:
    if role == "production":
        return None
    return next(s for s in (f"subject-{i}" for i in range(100_000)) if on_candidate(flow.slug, s, rollout.percent))


@pytest.mark.slow  # demo-wide: seeds the demo and replays every flow
@pytest.mark.django_db(transaction=True)
def test_validation_sends_exactly_what_the_config_api_serves_for_every_demo_flow(sandbox):
    sandbox.reset("demo")
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123", stdout=io.StringIO())
    recorder = _Recorder(sandbox.base_url)
    actor = system("tests")
    try:
        connection = save_connection(actor=actor, name="Recorded sandbox", base_url=recorder.url,
                                       api_key="sk-sandbox")
        compared = 0
        for rollout in FlowRollout.objects.select_related("flow", "production_release", "candidate_release"):
            flow = rollout.flow
            roles = ["production"] + (["candidate"] if rollout.candidate_id and rollout.percent > 0 else [])
            for role in roles:
                body = flow_config(flow, subject=_subject_on(flow, rollout, role)).body
                assert body["version"]["label"] == role
                served = release_from_body(body)
                assert served.hash == body["release"]
                release = rollout.production_release if role == "production" else rollout.candidate_release
                test_set = TestSet.objects.filter(flow=flow).order_by("-id").first()
                run = run_services.create_run(
                    actor=actor, test_set=test_set, connection=connection, config=release.version.config,
                    config_label=f"v{release.version.number}", prompt_version=release.version, mode=release.mode,
                    truncation=release.truncation, store=release.store, concurrency=1)
                assert run.release_hash == body["release"]
                recorder.bodies.clear()
                run_services.execute_run(run_id=run.pk, actor=actor)
                assert recorder.bodies, f"{flow.slug}: the validation run sent no request"
                for sent in recorder.bodies:
                    if flow.streams:
                        sent.pop("stream", None)  # transport: production streams too, the release is the same
                    state = sent.get(served.state_param) if served.state_param else None
                    expected = build_request(served, input=sent["input"], state=state)
                    assert sent == expected, (flow.slug, role, set(sent) ^ set(expected))
                    assert sent["truncation"] == body["config"]["truncation"]
                    assert not set(PER_REQUEST_KEYS) - {"input", served.state_param} & set(sent)
                    compared += 1
        assert compared >= 3, "the demo serves at least three flows"
    finally:
        recorder.close()
