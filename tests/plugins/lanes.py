"""Test lanes (issue 19): `make test-fast` runs everything but the tests marked browser, worker or slow.

The marks are checked, not trusted: a test that uses a browser, worker or Prism fixture without its mark fails
collection, and a test without a lane mark that starts ``manage.py``, a Celery worker, Chromium or Prism in a
subprocess fails at that moment, naming the mark it needs. So the fast lane stays fast without anyone keeping
a list.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

LANES = ("browser", "worker", "slow")
# Fixtures that start something slow, and the mark a test using them must carry.
FIXTURE_LANES = {
    "page_as": "browser",
    "browser": "browser",
    "start_worker": "worker",
    "celery_worker_process": "worker",
    "prism_proxy": "slow",
    "prism_sandbox": "slow",
}
# What a command line starting one of these looks like, and the mark it needs.
SLOW_COMMANDS = {"manage.py": "slow", "prism": "slow", "celery": "worker", "chromium": "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = []
    for item in items:
        marks = {mark.name for mark in item.iter_markers()}
        for fixture, lane in FIXTURE_LANES.items():
            if fixture in getattr(item, "fixturenames", ()) and lane not in marks:
                missing.append(f"{item.nodeid} uses {fixture!r}: mark it @pytest.mark.{lane}")
    if missing:
        raise pytest.UsageError("Tests outside their lane (see tests/plugins/lanes.py):\n  " + "\n  ".join(missing))


def _needs_lane(args: object) -> str | None:
    words = [str(a) for a in args] if isinstance(args, list | tuple) else str(args).split()
    for word in words:
        base = word.rsplit("/", 1)[-1]
        for command, lane in SLOW_COMMANDS.items():
            if base == command:
                return lane
    return None


@pytest.fixture(autouse=True)
def _lane_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if any(request.node.get_closest_marker(lane) for lane in LANES):
        yield
        return
    original = subprocess.Popen.__init__

    def guarded(self, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
        lane = _needs_lane(args)
        if lane:
            pytest.fail(f"{request.node.nodeid} starts {args!r} in a subprocess: mark it @pytest.mark.{lane} "
                        "so that `make test-fast` leaves it out (tests/plugins/lanes.py)", pytrace=False)
        original(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
    yield
