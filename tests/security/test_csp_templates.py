"""The Content-Security-Policy allows scripts and styles only from our static files: templates carry no inline
scripts, event handlers, <style> elements or style attributes (checked here without a browser;
tests/browser/test_csp.py checks the pages in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
JS_URL = re.compile(r"(href|src|action)\s*=\s*[\"']\s*javascript:", re.IGNORECASE)
# style-src-attr 'none': a style="…" is refused by the browser, so the page would silently lose that styling.
# Bars and charts use <progress>, <meter> or SVG attributes (y, width, height), layout the classes in static/css.
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
HTML_STYLE_ATTR = re.compile(r"<[a-z][^<>\n]*\sstyle\s*=", re.IGNORECASE)  # in HTML written from Python or JS
JS_STYLE_ATTR = re.compile(r"setAttribute\(\s*[\"'`]style[\"'`]", re.IGNORECASE)  # element.style.x = … is fine


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


def test_nothing_writes_a_style_attribute():
    offenders = []
    sources = [(path, (STYLE_ATTR,)) for path in _templates()]
    sources += [(path, (HTML_STYLE_ATTR,)) for path in sorted(REPO.glob("migrator/**/*.py"))]
    sources += [(path, (HTML_STYLE_ATTR, JS_STYLE_ATTR)) for path in sorted(REPO.glob("static/**/*.js"))]
    for path, patterns in sources:
        text = path.read_text()
        for pattern in patterns:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(REPO)}:{line}: {match.group(0).strip()[:60]}")
    assert offenders == [], "style attributes are refused by the Content-Security-Policy; use a class"


def test_the_policy_refuses_style_attributes():
    from django.conf import settings

    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["style-src-attr"] == ["'none'"] and directives["style-src"] == ["'self'"]
    assert not any("'unsafe-inline'" in values for values in directives.values())


@pytest.mark.django_db
def test_pages_and_errors_send_the_policy(client, admin_user):
    client.force_login(admin_user)
    for url in ("/", "/no-such-page/", "/api/v1/docs", "/api/v1/flows/x/config"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
        assert "style-src-attr 'none'" in policy and "unsafe-inline" not in policy
