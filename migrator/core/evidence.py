"""The cutover evidence registry. An app contributes evidence in ``<app>/evidence.py`` with functions decorated by
:func:`provider` (imported by ``CoreConfig.ready``, see :mod:`migrator.core.registries`; never listed). Each
provider answers for one (flow, version) pair with an :class:`Item` bound to the version's configuration hash
and the flow's mode. Which keys a cutover *requires* is the cutover app's decision (``migrator.cutover.evidence``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from migrator.core.status import FlowMode


class State:
    PASSED = "passed"
    FAILED = "failed"
    MISSING = "missing"
    NOT_REQUIRED = "not_required"


@dataclass
class Item:
    key: str
    title: str
    state: str  # State.*
    summary: str
    url: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    mode: str = ""
    release: str = ""  # the release hash the evidence speaks for

    @property
    def state_label(self) -> str:
        return {"passed": "Passed", "failed": "Failed", "missing": "Missing", "not_required": "Not required"}.get(
            self.state, self.state)

    @property
    def ok(self) -> bool:
        return self.state in (State.PASSED, State.NOT_REQUIRED)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Provider:
    key: str
    title: str
    order: int
    func: Callable[..., Item | None]


_providers: dict[str, Provider] = {}


def provider(key: str, *, title: str, order: int = 100) -> Callable:
    def decorate(func: Callable[..., Item | None]) -> Callable[..., Item | None]:
        _providers[key] = Provider(key, title, order, func)
        return func

    return decorate


def providers() -> dict[str, Provider]:
    return _providers


def keeps_server_state(mode: str) -> bool:
    return mode == FlowMode.CONVERSATION
