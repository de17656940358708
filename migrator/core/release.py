"""A release: everything a production call of a flow depends on, and its content hash (its identity).

A release is a prompt version's configuration (model, instructions, tools, text format, reasoning, sampling)
plus what the flow decides around it: the state mode, the parameter that mode carries state in, ``store``,
``truncation`` and whether production streams (``stream``: the client calls with ``stream=true``). Two
releases with the same hash make byte-for-byte the same Responses requests for the same turn; any difference in
any of those parts is a different hash.

:func:`build_request` is the one place a Responses request is put together from a release and a turn's input.
Validation, Try it, tool tests, the promptfoo export and the config API all go through it, and the README's
client snippet is the same function (``tests/cutover/test_release_request.py`` runs the snippet against it).

No ORM and no Django here: plain data in, plain data out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from migrator.core.confighash import canonical_json

# Per-request state is the client's business: never part of a release (and never served).
PER_REQUEST_KEYS = ("input", "conversation", "previous_response_id", "stream", "background", "prompt")
# The responses.create parameter each state mode carries state in (None: the client resends the history).
STATE_PARAM: dict[str, str | None] = {"stateless": None, "conversation": "conversation",
                                      "previous_response": "previous_response_id"}
TRUNCATIONS = ("auto", "disabled")


@dataclass(frozen=True)
class ReleaseSpec:
    """The parts of a release. ``call`` is the keyword arguments every request of the release carries."""

    call: dict[str, Any]
    mode: str
    truncation: str
    store: bool
    stream: bool = False

    @property
    def state_param(self) -> str | None:
        return STATE_PARAM.get(self.mode)

    @property
    def model(self) -> str:
        return str(self.call.get("model") or "")

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.call.get("tools") or [])

    def content(self) -> dict[str, Any]:
        """What the hash covers (and what a receipt shows): the call settings and the state they imply."""
        content = {"call": self.call, "mode": self.mode, "state_param": self.state_param,
                   "truncation": self.truncation, "store": self.store}
        # Streaming changes what production does (events, time to first token), so it is part of the identity.
        # Only a streaming release names it: every release recorded before streaming counted keeps its hash.
        if self.stream:
            content["stream"] = True
        return content

    @property
    def hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()


def make_release(*, config: dict[str, Any] | None, mode: str, truncation: str, store: bool,
                 stream: bool = False) -> ReleaseSpec:
    """The release of a prompt version's ``config`` served in ``mode`` with ``truncation`` and ``store``,
    streamed when ``stream``.

    The flow's truncation and store win over any the version's configuration carries: they sit in the call
    settings so that a client passes them as they are.
    """
    call = {k: v for k, v in (config or {}).items() if k not in PER_REQUEST_KEYS}
    call["truncation"] = truncation if truncation in TRUNCATIONS else "disabled"
    call["store"] = bool(store)
    return ReleaseSpec(call=call, mode=mode or "stateless", truncation=call["truncation"], store=bool(store),
                       stream=bool(stream))


def release_from_body(body: dict[str, Any]) -> ReleaseSpec:
    """The release a config API answer serves (its ``config`` and ``flow`` parts)."""
    flow = body.get("flow") or {}
    config = dict(body.get("config") or {})
    return make_release(config=config, mode=str(flow.get("mode") or "stateless"),
                        truncation=str(config.get("truncation") or flow.get("truncation") or "disabled"),
                        store=bool(config.get("store", flow.get("store", True))), stream=bool(flow.get("streams")))


def build_request(release: ReleaseSpec, *, input: Any, state: str | None = None) -> dict[str, Any]:
    """The ``responses.create`` keyword arguments for one call of ``release`` with ``input``.

    ``state`` is the conversation id or previous response id the client keeps for this chat (ignored when the
    release is stateless, where ``input`` must carry the whole history). Mirrors the README's client code.
    ``stream`` is not added: it is how the client reads the answer (``release.stream`` says whether production
    streams), and the SDK takes it as a separate argument (``responses.create(**request, stream=True)``).
    """
    kwargs = dict(release.call)
    param = release.state_param
    if param and state:
        kwargs[param] = state
    return {**kwargs, "input": input}


def short(hash_: str) -> str:
    return hash_[:12]
