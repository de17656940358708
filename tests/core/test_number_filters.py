"""Numbers for people: the shared filters every template uses (builtins, no {% load %})."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from migrator.core.templatetags.migrator_tags import count, duration, human_bytes, ms, num, percent


@pytest.mark.parametrize(("value", "shown"), [
    (6.142857142857143, "6.1"), (7.0, "7"), (1234, "1,234"), (1234567.89, "1,234,567.9"), (0, "0"), (None, "—"),
    ("", "—"), ("42", "42"), ("3.25", "3.2"), ("n/a", "—"),
])
def test_num(value, shown):
    assert num(value) == shown


@pytest.mark.parametrize(("value", "shown"), [(0.1234, "12.3%"), (0, "0%"), (1, "100.0%"), (None, "—")])
def test_percent(value, shown):
    assert percent(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (22407093, "21.4 MB"), (1, "1 byte"), (512, "512 bytes"), (2048, "2.0 KB"), (5 * 1024 ** 4, "5.0 TB"), (None, "—"),
])
def test_bytes(value, shown):
    assert human_bytes(value) == shown


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.85, "850 ms"), (4.24, "4.2 s"), (192, "3 min 12 s"), (120, "2 min"), (7500, "2 h 5 min"), (3 * 86400 + 4 * 3600, "3 d 4 h"),
    (None, "—"),
])
def test_duration(seconds, shown):
    assert duration(seconds) == shown


def test_ms_and_count():
    assert ms(340) == "340 ms" and ms(1530) == "1.5 s" and ms(None) == "—"
    assert count(1, "thread") == "1 thread" and count(1204, "thread") == "1,204 threads"
    assert count(2, "reply,replies") == "2 replies"


def test_the_filters_are_builtins():
    html = Template("{{ a|num }} {{ b|bytes }} {{ c|duration }} {{ d|percent }}").render(
        Context({"a": 6.142857, "b": 22407093, "c": 90, "d": 0.5}))
    assert html == "6.1 21.4 MB 1 min 30 s 50.0%"
