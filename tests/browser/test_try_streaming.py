"""Try it in Chromium: the answer streams into the job page while the try runs (fetch stream reader in
static/js/app.js), under the unchanged Content-Security-Policy."""

import threading

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from migrator.prompts import jobs, services
from tests.factories import AssistantFactory
from tests.threads import job_thread

pytestmark = [pytest.mark.browser]


def test_the_try_answer_streams_into_the_page(page_as, make_sandbox, screenshot, monkeypatch):
    page = page_as("product_owner")
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text
            or "Refused to" in msg.text else None)
    # The worker stops after its first write of the answer until the page has shown it: what is checked is that
    # a piece shows before the end, not how fast this machine is (under load the worker could fall behind the
    # sandbox and read every event at once, so that the first write it makes after the first word is the whole
    # answer). Everything between the worker's write and the page is the real path.
    shown = threading.Event()
    real_stream = jobs.stream_answer

    def first_piece_held(client, kwargs, on_text):
        def write(text: str, done: bool) -> None:
            on_text(text, done)
            if not done and not shown.is_set():
                shown.wait(timeout=30)

        return real_stream(client, kwargs, write)

    monkeypatch.setattr(jobs, "stream_answer", first_piece_held)
    slow = make_sandbox(stream_delay_ms=80, seed="empty")  # ~40 events: the stream takes ~3 s
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.")
    version = services.generate_version(assistant_id=assistant.pk, actor=page.user)
    with override_settings(SANDBOX_URL=slow.base_url, SANDBOX_API_KEY=slow.api_key):
        job = services.start_try(version_id=version.pk, actor=page.user,
                                 input_text="Hello there, my name is Ada and I would like a long answer please.")
    page.goto(job.get_absolute_url())
    live = page.get_by_test_id("try-live-text")
    expect(live).to_have_text("")
    worker = job_thread(job.pk)  # as a worker would
    try:
        expect(live).not_to_have_text("", timeout=30_000)  # the first piece, while the try still runs
        partial = live.inner_text()
        screenshot(page, "streaming")
    finally:
        shown.set()
    expect(live).to_have_attribute("data-live-done", "succeeded", timeout=30_000)
    worker.join(timeout=30)
    job.refresh_from_db()
    answer = job.result["output_text"]
    assert "You said" in answer and "[sandbox:" in answer  # the trailer ends the answer
    assert partial and answer.startswith(partial) and "[sandbox:" not in partial, partial
    assert live.inner_text() == answer
    expect(page.get_by_test_id("job-status")).to_have_text("Succeeded", timeout=30_000)
    assert refused == []
