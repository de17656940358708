"""The evidence a cutover requires, gathered from the core evidence registry (``migrator.core.evidence``) that
every app fills through its ``evidence.py``. A required key that no installed app provides is "missing", never
"passed".
"""

from __future__ import annotations

from typing import Any

from migrator.core import evidence as registry
from migrator.core.confighash import config_hash
from migrator.core.evidence import Item, Provider, State, keeps_server_state
from migrator.core.release import make_release

__all__ = ["REQUIRED", "Item", "State", "changed_since", "gather", "keeps_server_state", "missing"]

# What a cutover needs, in the order the evidence view shows it. ``backfill`` is required only when the flow's
# mode keeps state on the server (a conversation); other modes answer "not required" through its provider.
REQUIRED: tuple[tuple[str, str], ...] = (
    ("prompt", "Approved prompt version"),
    ("mode", "State mode chosen"),
    ("tools", "Every tool passes its latest test"),
    ("validation", "Passing validation run"),
    ("backfill", "Backfill of the flow's threads"),
    ("diagnostics", "Diagnostics"),
)


def gather(flow, version) -> list[Item]:
    """Every required item for ``flow`` cutting over to ``version``, then any extra items apps provide."""
    providers = registry.providers()
    digest = config_hash(version.config) if version is not None else ""
    release = (make_release(config=version.config, mode=flow.mode, truncation=flow.truncation, store=flow.store,
                            stream=bool(flow.streams)).hash if version is not None and flow.mode else "")
    items: list[Item] = []
    for key, title in REQUIRED:
        p = providers.get(key)
        if p is None:
            items.append(Item(key, title, State.MISSING, f"Nothing in this installation can provide {title.lower()}.",
                              config_hash=digest, mode=flow.mode))
            continue
        items.append(_ask(p, flow, version, digest))
    extra = sorted((p for k, p in providers.items() if k not in dict(REQUIRED)), key=lambda p: (p.order, p.key))
    items.extend(_ask(p, flow, version, digest) for p in extra)
    for item in items:
        item.release = release
    return items


def changed_since(snapshot: list[dict[str, Any]], now: list[Item]) -> list[str]:
    """What no longer holds, comparing the evidence snapshotted at request with ``now``: one sentence per item
    that was fine then and is not now (or is gone), naming its state then and now."""
    before = {i.get("key"): i for i in snapshot or []}
    out = []
    for item in now:
        then = before.get(item.key)
        if item.ok:
            continue
        if then is None:
            out.append(f"{item.title}: {item.state_label.lower()} now ({item.summary})")
        else:
            out.append(f"{item.title}: {then.get('state')} at request, {item.state_label.lower()} now ({item.summary})")
    return out


def _ask(p: Provider, flow, version, digest: str) -> Item:
    if version is None:
        return Item(p.key, p.title, State.MISSING, "No version to gather evidence for.", mode=flow.mode)
    try:
        item = p.func(flow=flow, version=version, config_hash=digest)
    except Exception as exc:  # a provider that cannot answer makes the evidence incomplete, never passed
        return Item(p.key, p.title, State.MISSING, f"Could not be checked: {type(exc).__name__}: {exc}",
                    config_hash=digest, mode=flow.mode)
    if item is None:
        return Item(p.key, p.title, State.MISSING, "No evidence yet.", config_hash=digest, mode=flow.mode)
    item.config_hash = item.config_hash or digest
    item.mode = item.mode or flow.mode
    return item


def missing(items: list[Item]) -> list[Item]:
    return [i for i in items if not i.ok]
