"""An engineer selects a flow's threads, reads the plan, runs it on a real worker, watches it finish, opens a
thread beside its conversation and rolls that thread back (at 1024 px)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from migrator.backfill.models import ThreadBackfill, ThreadStatus
from tests.backfill.fixtures import connect, import_threads

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_engineer_backfills_a_flow_and_rolls_one_thread_back(page_as, sandbox_empty, celery_worker_process,
                                                            screenshot, tmp_path):
    import_threads(tmp_path, [("thread_ui000001", 3), ("thread_ui000002", 12), ("thread_ui000003", 1)])
    import_threads(tmp_path, [("thread_uiother1", 2)], flow="other-web")
    connection = connect(sandbox_empty, "Sandbox target")
    page = page_as("engineer")
    page.set_viewport_size({"width": 1024, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto("/")
    page.get_by_role("link", name="Backfill").first.click()
    page.get_by_test_id("new-backfill").click()
    page.select_option("#id_connection", str(connection.pk))
    page.select_option("#id_scope", "flow")
    page.get_by_test_id("flow-search").fill("bill")  # a search box with server suggestions, not a list of all
    page.get_by_test_id("flow-suggestions").get_by_role("button", name="billing-web").click()
    expect(page.get_by_test_id("estimate-threads")).to_have_text("3")  # the live count (htmx)
    screenshot(page, "selection")

    page.get_by_test_id("preview-plan").click()
    expect(page.get_by_test_id("plan-threads")).to_have_text("3")
    expect(page.get_by_text("Fidelity ledger")).to_be_visible()
    expect(page.get_by_test_id("plan-threads-table")).to_contain_text("thread_ui000002")
    assert not ThreadBackfill.objects.exists()  # reading the plan sent nothing
    screenshot(page, "plan")

    page.get_by_test_id("start-run").click()
    expect(page).to_have_url(re.compile(r"/backfill/runs/\d+/$"))
    expect(page.get_by_test_id("run-status")).to_have_text("Finished", timeout=90_000)  # live progress, polled
    expect(page.get_by_test_id("run-done")).to_have_text("3")
    # The thread table ends in its final state too (no row left "Pending" until a reload), and nothing polls.
    expect(page.get_by_test_id("thread-table").locator("tbody .badge")).to_have_text(["Done", "Done", "Done"])
    expect(page.locator("#run-live[hx-trigger]")).to_have_count(0)
    screenshot(page, "run")

    page.get_by_test_id("thread-link").filter(has_text="thread_ui000002").click()
    row = ThreadBackfill.objects.get(thread__legacy_id="thread_ui000002")
    expect(page.get_by_test_id("conversation-id")).to_have_text(row.conversation_id)
    expect(page.get_by_test_id("legacy-thread")).to_contain_text("answer 11")
    expect(page.get_by_test_id("conversation-item")).to_have_count(row.item_count)
    screenshot(page, "thread")

    page.get_by_test_id("rollback-thread").click()
    expect(page.get_by_test_id("thread-status")).to_have_text("Rolled back")
    row.refresh_from_db()
    assert row.status == ThreadStatus.ROLLED_BACK and row.conversation_id == ""
    assert ThreadBackfill.objects.filter(status=ThreadStatus.DONE).count() == 2
