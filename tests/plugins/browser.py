"""Playwright (Python) driving Debian's Chromium against pytest-django's live server.

No browser is downloaded: we launch /usr/bin/chromium. Tests skip with a clear reason when it is absent
(`make test` and `.ci/run` install it). Screenshots go to test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD
from tests.factories import PASSWORD, UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROLE_USERS = {
    "product_owner": ("po-browser", PRODUCT_OWNER),
    "engineer": ("eng-browser", ENGINEER),
    "support_lead": ("lead-browser", SUPPORT_LEAD),
    "admin": ("admin-browser", None),
}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body are
    # still synchronous and safe here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def create_role_user(role: str):
    username, group = ROLE_USERS[role]
    if group is None:
        return UserFactory(username=username, is_staff=True, is_superuser=True)
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def page_as(browser, live_server, transactional_db, request) -> Iterator[Callable]:
    """``page = page_as("engineer")``: a logged-in Playwright page on the live server."""
    contexts = []

    def login(role: str):
        user = create_role_user(role)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))
        page.user = user
        return page

    yield login
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request) -> Callable:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
