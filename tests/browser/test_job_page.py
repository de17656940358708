"""The job page while a job waits, and after it ends: no Cancel, no stale step, human units, links."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from migrator.core.jobs.runner import execute_job
from tests.factories import JobFactory

pytestmark = [pytest.mark.browser]


def test_the_job_page_follows_a_job_from_waiting_to_finished(page_as, screenshot):
    page = page_as("engineer")
    page.set_viewport_size({"width": 1024, "height": 900})
    job = JobFactory(kind="tests.produces", created_by=page.user, queue="migrator-0123456789",
                     enqueued_at=timezone.now(), enqueue_count=1, progress_unit="bytes")
    page.goto(job.get_absolute_url())
    expect(page.get_by_test_id("waiting-for-worker")).to_contain_text("migrator-0123456789")
    expect(page.get_by_test_id("no-worker")).to_be_visible()
    expect(page.get_by_test_id("job-cancel")).to_be_visible()
    expect(page.get_by_test_id("job-step")).to_have_text("Waiting for a worker")
    screenshot(page, "waiting")

    execute_job(job.pk)  # as a worker would; the page keeps polling and swaps in the ending

    expect(page.get_by_test_id("job-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("job-cancel")).to_have_count(0)
    expect(page.get_by_test_id("waiting-for-worker")).to_have_count(0)
    expect(page.get_by_test_id("job-step")).to_have_text("Finished")
    expect(page.get_by_test_id("job-progress")).to_have_text("21.4\xa0MB of 21.4\xa0MB · 100%")
    expect(page.get_by_test_id("job-links").get_by_role("link", name="All assistants")).to_have_attribute("href", "/assistants/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024  # nothing overflows at 1024 px
    screenshot(page, "finished")
