"""Try it in Chromium: the answer streams into the job page while the try runs (fetch stream reader in
static/js/app.js), under the unchanged Content-Security-Policy."""

import threading

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from migrator.core.jobs.runner import execute_job
from migrator.prompts import services
from tests.factories import AssistantFactory

pytestmark = [pytest.mark.browser]


def test_the_try_answer_streams_into_the_page(page_as, make_sandbox, screenshot):
    page = page_as("product_owner")
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text
            or "Refused to" in msg.text else None)
    slow = make_sandbox(stream_delay_ms=80, seed="empty")  # ~40 events: the stream takes ~3 s
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer in one short sentence.")
    version = services.generate_version(assistant_id=assistant.pk, actor=page.user)
    with override_settings(SANDBOX_URL=slow.base_url, SANDBOX_API_KEY=slow.api_key):
        job = services.start_try(version_id=version.pk, actor=page.user,
                                 input_text="Hello there, my name is Ada and I would like a long answer please.")
    page.goto(job.get_absolute_url())
    live = page.get_by_test_id("try-live-text")
    expect(live).to_have_text("")
    worker = threading.Thread(target=execute_job, args=(job.pk,))  # as a worker would
    worker.start()
    expect(live).to_contain_text("You said")  # the first words, long before the end
    partial = live.inner_text()
    screenshot(page, "streaming")
    assert "[sandbox:" not in partial  # the trailer ends the answer: it has not arrived yet
    expect(live).to_have_attribute("data-live-done", "succeeded", timeout=30_000)
    worker.join(timeout=30)
    job.refresh_from_db()
    assert live.inner_text() == job.result["output_text"]
    expect(page.get_by_test_id("job-status")).to_have_text("Succeeded")
    assert refused == []
