"""Test set-up for cutovers: put a version in production directly (set-up only; product code goes through
services), and stand-in evidence for steps whose apps provide none in this installation."""

from __future__ import annotations

from contextlib import contextmanager

from migrator.core import evidence as ev
from migrator.cutover.models import FlowRollout


def serve(flow, version) -> FlowRollout:
    """Serve ``version`` with the flow's current settings (its release) to everyone."""
    from migrator.core.actors import system
    from migrator.cutover.services import releases

    release = releases.ensure_release(flow=flow, version=version, spec=releases.spec_for(flow, version),
                                      actor=system("tests"), origin="test set-up")
    rollout, _ = FlowRollout.objects.update_or_create(
        flow=flow, defaults={"production": version, "production_release": release, "candidate": None,
                             "candidate_release": None, "percent": 0, "request": None})
    return rollout


@contextmanager
def evidence_passing(*keys: str, state: str = ev.State.PASSED):
    """Answer ``keys`` with ``state`` (e.g. validation while its app is elsewhere), restoring the registry after."""
    providers = ev.providers()
    saved = {k: providers.get(k) for k in keys}
    for key in keys:
        def answer(*, flow, version, config_hash, _key=key):
            return ev.Item(_key, _key.title(), state, f"stand-in {state} evidence for {_key}")
        providers[key] = ev.Provider(key, key.title(), 50, answer)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                providers.pop(key, None)
            else:
                providers[key] = old
