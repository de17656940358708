"""Steps the browser journeys share."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect


def fits(page) -> None:
    """Nothing on the page is wider than the window (tables scroll inside their cards, if at all)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than 1024 px"


def approve_cutover_from_inbox(page, request_id: int, screenshot: Callable, shot: str,
                               reason: str = "validation passed on the successor model") -> None:
    """The support lead, on the dashboard, opens the cutover inbox, reviews the request's evidence (``shot`` is
    the screenshot of it), gives a reason, approves and confirms: production keeps serving everyone and the
    ramp form appears."""
    page.get_by_test_id("main-action").click()
    page.get_by_test_id(f"review-{request_id}").click()
    fits(page)
    screenshot(page, shot)
    page.fill("#id_reason", reason)
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("confirm-sentence")).to_contain_text("keeps serving every subject")
    fits(page)
    page.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("ramp-form")).to_be_visible()
