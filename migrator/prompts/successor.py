"""Moving an approved configuration onto its model's named successor: the conversion rules for reasoning models,
each change explained as a ledger entry (so the candidate's ledger says what moved and why).

Used by the retirement autopilot (``services.propose_successor``) and the cutover demo. A version made this way
differs from its approved parent only in ``SUCCESSOR_KEYS``; the cutover's prompt evidence accepts it on the
strength of the parent's approval (see ``prompts.evidence``): the support lead still decides the move.
"""

from __future__ import annotations

import copy
from typing import Any

from migrator.core.model_catalog import DEFAULT_REASONING_EFFORT, SAMPLING_PARAMS, ModelInfo, is_reasoning
from migrator.tools.conversion.types import CHANGED, DROPPED, LedgerEntry

# The only keys a successor move may change.
SUCCESSOR_KEYS = frozenset({"model", "reasoning", *SAMPLING_PARAMS})
# Set on the ledger entry of the model move, so the evidence can tell a successor move from an edit.
MARK = "successor_move"


def successor_config(config: dict[str, Any], info: ModelInfo, successor: str) -> tuple[dict[str, Any], list[dict]]:
    """``config`` on ``successor`` minus what that model would refuse, with one ledger entry per change."""
    old = str(config.get("model") or "")
    moved = copy.deepcopy(config)
    moved["model"] = successor
    when = f" shuts down on {info.shutdown_date.isoformat()}" if info.shutdown_date else " is retiring"
    named = (f" (named by {info.successor_source}, seen {info.successor_seen.isoformat()})"
             if info.successor == successor and info.successor_source and info.successor_seen else "")
    model_entry = LedgerEntry("model", CHANGED, f"{old}{when}; moved to its successor {successor}{named}. "
                              "Instructions, tools and the rest are unchanged.", before=old, after=successor,
                              target="/model").to_dict()
    model_entry[MARK] = True
    entries = [model_entry]
    if is_reasoning(successor):
        dropped = False
        for name in SAMPLING_PARAMS:
            value = moved.get(name)
            if value is not None and value != 1:
                moved.pop(name)
                dropped = True
                entries.append(LedgerEntry(name, DROPPED, f"{successor} is a reasoning model and refuses {name} (the "
                                           "API answers 400 unsupported_parameter); removed.", before=value,
                                           target="").to_dict())
        if dropped and not moved.get("reasoning"):
            moved["reasoning"] = {"effort": DEFAULT_REASONING_EFFORT}
            entries.append(LedgerEntry("reasoning", CHANGED, f"Sampling parameters steered {old}; a reasoning model "
                                       f"is steered with reasoning.effort instead: set to {DEFAULT_REASONING_EFFORT!r}.",
                                       before=None, after=moved["reasoning"], target="/reasoning").to_dict())
    elif moved.get("reasoning"):
        entries.append(LedgerEntry("reasoning", DROPPED, f"{successor} does not reason and refuses reasoning settings; "
                                   "removed.", before=moved.pop("reasoning"), target="").to_dict())
    return moved, entries


def is_successor_move(version, parent) -> bool:
    """True when ``version`` is ``parent`` moved to another model by :func:`successor_config` and nothing else."""
    if parent is None or not version.ledger or not isinstance(version.ledger[0], dict):
        return False
    if not version.ledger[0].get(MARK):
        return False
    old, new = parent.config or {}, version.config or {}
    changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
    return "model" in changed and changed <= SUCCESSOR_KEYS
