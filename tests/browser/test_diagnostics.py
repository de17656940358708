"""Browser: the flow page's diagnostics card loads its counts, opens the flow's diagnostics; the System page
shows the system checks."""

from __future__ import annotations

import pytest

from tests.factories import FlowFactory

pytestmark = [pytest.mark.browser]


def test_flow_card_and_system_checks(page_as, screenshot):
    flow = FlowFactory(slug="checkout", name="Checkout help")
    page = page_as("support_lead")
    page.goto(flow.get_absolute_url())
    card = page.get_by_test_id("diagnostics-card")
    assert card.get_by_test_id("diagnostics-worst").inner_text() == "fail"  # loaded by htmx: no mode chosen
    card.get_by_role("link", name="Open diagnostics").click()
    page.wait_for_url("**/diagnostics/flows/checkout/")
    row = page.get_by_test_id("diag-history_mode")
    assert row.get_attribute("data-status") == "fail"
    row.get_by_role("link", name="Choose a mode →").click()
    page.wait_for_url(f"**{flow.get_absolute_url()}#mode")
    page.goto("/system/")
    checks = page.get_by_test_id("system-checks")
    assert checks.get_by_test_id("diag-database").get_attribute("data-status") == "ok"
    assert checks.get_by_test_id("diag-workers").get_attribute("data-status") == "fail"  # no worker in this test
    screenshot(page, "system-checks")
