"""Browser: an engineer adds a webhook endpoint, copies its secret (shown once), sends a test event that a real
worker delivers to a receiver on 127.0.0.1; a support lead sees the log but cannot send."""

from __future__ import annotations

import pytest

from migrator.webhooks import signing
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def test_engineer_adds_an_endpoint_and_a_worker_delivers_the_test_event(page_as, celery_worker_process, receiver,
                                                                        screenshot):
    page = page_as("engineer")
    page.get_by_role("link", name="Webhooks").click()
    form = page.get_by_test_id("endpoint-form")
    form.locator("input[name=name]").fill("Support relay")
    form.locator("input[name=url]").fill("ftp://example.com/hook")
    form.locator("input[value='cutover.approved']").check()
    form.get_by_role("button", name="Create endpoint").click()
    assert "http:// or https://" in page.locator(".errorlist").first.inner_text()  # refused, kept on the form
    form = page.get_by_test_id("endpoint-form")
    form.locator("input[name=url]").fill(receiver.url)
    form.locator("input[value='cutover.approved']").check()
    form.get_by_role("button", name="Create endpoint").click()
    secret = page.get_by_test_id("secret-value").inner_text().strip()
    assert secret.startswith("whsec_")
    screenshot(page, "secret-once")

    page.get_by_test_id("send-test").click()
    # The log polls while a delivery is pending: the row turns "succeeded" without a reload.
    try:
        page.locator("tr[data-testid=delivery-row][data-status=succeeded]").wait_for(timeout=60_000)
    except Exception:
        pytest.fail("the test event was not delivered:\n" + celery_worker_process.log()[-3000:])
    assert page.get_by_test_id("delivery-log").get_attribute("hx-get") is None  # polling stopped
    assert secret not in page.content()  # shown once only
    screenshot(page, "delivered")
    [request] = receiver.requests
    signing.verify(secret, request.body, request.headers[signing.SIGNATURE_HEADER])
    assert request.headers[signing.EVENT_TYPE_HEADER] == "webhook.test"

    page.locator("tr[data-testid=delivery-row] a").first.click()
    assert page.get_by_test_id("delivery-status").inner_text() == "Succeeded"
    assert "webhook.test" in page.get_by_test_id("delivery-body").inner_text()

    lead = page_as("support_lead")
    lead.goto(page.url)
    assert lead.get_by_test_id("delivery-status").inner_text() == "Succeeded"
    assert lead.get_by_test_id("redeliver").count() == 0
    lead.goto("/webhooks/")
    lead.get_by_role("link", name="Support relay").click()
    assert lead.get_by_test_id("send-test").count() == 0
