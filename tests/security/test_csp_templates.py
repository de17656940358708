"""The Content-Security-Policy allows scripts only from our static files: templates carry no inline scripts
or event handlers (checked here without a browser; tests/browser/test_csp.py checks the pages in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
JS_URL = re.compile(r"(href|src|action)\s*=\s*[\"']\s*javascript:", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted([*REPO.glob("templates/**/*.html"), *REPO.glob("migrator/*/templates/**/*.html")])


def test_templates_have_no_inline_scripts_or_handlers():
    offenders = []
    for path in _templates():
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, HANDLER, JS_URL, re.compile(r"<style[\s>]", re.IGNORECASE)):
            for match in pattern.finditer(text):
                offenders.append(f"{path.relative_to(REPO)}: {match.group(0)[:60]}")
    assert offenders == []


@pytest.mark.django_db
def test_pages_and_errors_send_the_policy(client, admin_user):
    client.force_login(admin_user)
    for url in ("/", "/no-such-page/", "/api/v1/docs", "/api/v1/flows/x/config"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
