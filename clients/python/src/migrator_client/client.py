"""``Migrator`` and ``Flow.respond``: what production calls instead of hand-written glue.

One call: read what the flow serves to this subject (or the release the conversation is pinned to), build the
Responses request from it, keep state the flow's way, run registered tools, and queue an outcome report.

State is an opaque string the app stores per conversation and passes back: it carries the release the
conversation started on, and the conversation id (mode ``conversation``), the previous response id
(``previous_response``) or the whole history (``stateless``). A conversation stays on its release for its whole
life: ramps and completion never move it. Only a rollback past its release does (the release was pulled).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigStore, MigratorError, Served, release_of
from .outcomes import Reporter
from .schema import check_output

logger = logging.getLogger("migrator_client")

STATE_VERSION = 1
MAX_TOOL_ROUNDS = 8


@dataclass
class Reply:
    output_text: str
    state: str
    release: str
    role: str = "production"  # "production" or "candidate": which side of the rollout served it
    response: Any = None  # the last openai Response object
    tool_calls: list[str] = field(default_factory=list)
    switched: bool = False  # True only when a rollback moved this conversation off its release


def _state_in(state: Any) -> dict[str, Any]:
    if state is None or state == "":
        return {}
    if isinstance(state, dict):
        return dict(state)
    try:
        value = json.loads(state)
    except (TypeError, ValueError):
        # A bare id from hand-written code before the client: a conversation or response id.
        text = str(state)
        return {"c": text} if text.startswith("conv_") else {"p": text}
    return value if isinstance(value, dict) else {}


def _state_out(value: dict[str, Any]) -> str:
    return json.dumps({"v": STATE_VERSION, **value}, separators=(",", ":"))


def _plain(item: Any) -> dict[str, Any]:
    data = item.model_dump(exclude_none=True) if hasattr(item, "model_dump") else dict(item)
    # Items of an unstored response cannot be referenced by id; replay them by value.
    if data.get("type") in ("message", "function_call"):
        data.pop("id", None)
        data.pop("status", None)
    return data


def _error_class(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}:{status}" if status else type(exc).__name__


class Flow:
    def __init__(self, migrator: Migrator, slug: str) -> None:
        self.migrator = migrator
        self.slug = slug
        self.tools: dict[str, Callable[..., Any]] = {}

    def tool(self, func: Callable[..., Any] | None = None, *, name: str | None = None):
        """Register a Python function for the model's function tool of that name (usable as a decorator)."""
        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.tools[name or f.__name__] = f
            return f
        return register(func) if func is not None else register

    # --- choosing the release ----------------------------------------------------------------------------

    def _choose(self, subject: str | None, state: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(answer body to serve, switched): the pinned release while it is still valid, else the served one."""
        store = self.migrator.config
        served: Served = store.get(self.slug, subject)
        pinned = state.get("r")
        if not pinned or pinned == served.release:
            return served.body, False
        body = store.release_body(pinned)
        if body is not None and not self._pulled(body, served):
            return body, False
        self.migrator.stats["switched"] += 1
        return served.body, True

    def _pulled(self, pinned: dict[str, Any], served: Served) -> bool:
        """Whether a rollback took the pinned release away: it is neither production nor candidate now, and
        production went back below it (a completion moves production forward; the old release stays usable)."""
        pulled = served.body.get("pulled_releases")
        if isinstance(pulled, list):  # migrator names the releases it rolled back
            return release_of(pinned) in pulled
        rollout = served.body.get("rollout") or {}
        number = (pinned.get("version") or {}).get("number")
        production, candidate = rollout.get("production_version"), rollout.get("candidate_version")
        if number is None or number in (production, candidate):
            return False
        return production is None or production < number

    # --- answering ---------------------------------------------------------------------------------------

    def respond(self, *, subject: str | None, input: Any, state: Any = None, stream: bool = False,
                **overrides: Any) -> Reply | StreamedReply:
        """Answer one turn. ``input`` is the user's text (or a list of input items); ``state`` is what the
        previous reply returned (None for a new conversation). With ``stream=True`` the answer is an iterator
        of the SDK's events whose ``.reply`` is set when it is exhausted."""
        prior = _state_in(state)
        body, switched = self._choose(subject, prior)
        turn = _Turn(self, subject, body, prior, input, overrides, switched)
        if stream:
            return StreamedReply(turn)
        return turn.run()


class _Turn:
    """One respond() call: the request, the tool loop, the state to hand back and the outcome."""

    def __init__(self, flow: Flow, subject: str | None, body: dict[str, Any], prior: dict[str, Any], user_input: Any,
                 overrides: dict[str, Any], switched: bool) -> None:
        self.flow = flow
        self.subject = subject
        self.body = body
        self.release = release_of(body)
        self.role = str((body.get("rollout") or {}).get("served") or "production")
        self.mode = str((body.get("flow") or {}).get("mode") or "stateless")
        self.config = {**dict(body.get("config") or {}), **overrides}
        self.prior = prior
        self.switched = switched
        self.new_items = [{"role": "user", "content": user_input}] if isinstance(user_input, str) else list(user_input)
        self.history: list[dict[str, Any]] = list(prior.get("h") or [])
        self.history_before = list(self.history)
        self.state: dict[str, Any] = {"r": self.release}
        self.started = time.monotonic()
        self.first_token: float | None = None
        self.tool_calls: list[str] = []
        self.output_types: list[str] = []
        self.usage = [0, 0]
        self.refusal = False

    # The request of each round, by mode.
    def _request(self, round_input: list[dict[str, Any]], previous: Any) -> dict[str, Any]:
        kwargs = dict(self.config)
        openai_client = self.flow.migrator.openai
        if self.mode == "conversation":
            conversation = self.prior.get("c")
            if not conversation:
                conversation = openai_client.conversations.create().id
                self.prior["c"] = conversation
            self.state["c"] = conversation
            kwargs["conversation"] = conversation
            kwargs["input"] = round_input
        elif self.mode == "previous_response":
            prev = previous.id if previous is not None else self.prior.get("p")
            if prev:
                kwargs["previous_response_id"] = prev
            kwargs["input"] = round_input
        else:
            kwargs["input"] = self.history + round_input
        return kwargs

    def _absorb(self, response: Any, round_input: list[dict[str, Any]]) -> list[Any]:
        """Record a round's response; return its function calls."""
        calls = []
        if self.mode == "stateless":
            self.history.extend(round_input)
        for item in getattr(response, "output", None) or []:
            kind = getattr(item, "type", "")
            self.output_types.append(kind)
            if kind == "function_call":
                calls.append(item)
                self.tool_calls.append(item.name)
            if kind == "message":
                for part in getattr(item, "content", None) or []:
                    if getattr(part, "type", "") == "refusal":
                        self.refusal = True
            if self.mode == "stateless" and kind != "reasoning":
                self.history.append(_plain(item))
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.usage[0] += getattr(usage, "input_tokens", 0) or 0
            self.usage[1] += getattr(usage, "output_tokens", 0) or 0
        if self.mode == "previous_response":
            self.state["p"] = response.id
        return calls

    def _run_tools(self, calls: list[Any]) -> list[dict[str, Any]]:
        outputs = []
        for call in calls:
            func = self.flow.tools.get(call.name)
            if func is None:
                result: Any = {"error": f"no function named {call.name} is registered with the client"}
            else:
                try:
                    arguments = json.loads(call.arguments or "{}")
                    result = func(**arguments) if isinstance(arguments, dict) else func(arguments)
                except Exception as exc:  # the tool's failure is the model's to handle, as in a hand-written loop
                    result = {"error": f"{type(exc).__name__}: {exc}"}
            text = result if isinstance(result, str) else json.dumps(result, default=str)
            outputs.append({"type": "function_call_output", "call_id": call.call_id, "output": text})
        return outputs

    def loop(self, call: Callable[[dict[str, Any]], Generator[Any, None, Any]]) -> Generator[Any, None, Any]:
        """The tool loop: call, run the functions it asked for, send their outputs, until it answers.
        ``call`` yields stream events (none when not streaming) and returns the round's response."""
        round_input = self.new_items
        response = None
        try:
            for _ in range(MAX_TOOL_ROUNDS):
                response = yield from call(self._request(round_input, response))
                calls = self._absorb(response, round_input)
                if not calls:
                    break
                round_input = self._run_tools(calls)
        except Exception as exc:
            self.report(response, exc)
            raise
        self.report(response, None)
        return response

    def run(self) -> Reply:
        openai_client = self.flow.migrator.openai

        def call(kwargs: dict[str, Any]) -> Generator[Any, None, Any]:
            return openai_client.responses.create(**kwargs)
            yield  # a generator with no events

        steps = self.loop(call)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                reply = self.reply(done.value)
                self.flow.migrator.shadows.maybe(self, reply)
                return reply

    def reply(self, response: Any) -> Reply:
        if self.mode == "stateless":
            self.state["h"] = self.history
        return Reply(output_text=getattr(response, "output_text", "") or "", state=_state_out(self.state),
                     release=self.release, role=self.role, response=response, tool_calls=list(self.tool_calls),
                     switched=self.switched)

    def report(self, response: Any, error: BaseException | None) -> None:
        migrator = self.flow.migrator
        migrator.stats["requests"] += 1
        if error is not None:
            migrator.stats["errors"] += 1
        text = getattr(response, "output_text", "") if response is not None and error is None else ""
        fmt = (self.config.get("text") or {}).get("format") if isinstance(self.config.get("text"), dict) else None
        now = time.monotonic()
        outcome = {
            "id": uuid.uuid4().hex,
            "at": time.time(),
            "release": self.release,
            "role": self.role,
            "model": self.config.get("model"),
            "latency_ms": round((now - self.started) * 1000, 2),
            "ttft_ms": round((self.first_token - self.started) * 1000, 2) if self.first_token else None,
            "error": _error_class(error) if error is not None else None,
            "output_types": self.output_types[:50],
            "tool_calls": self.tool_calls[:50],
            "schema_valid": check_output(fmt, text) if error is None else None,
            "refusal": self.refusal,
            "input_tokens": self.usage[0],
            "output_tokens": self.usage[1],
            "switched": self.switched,
        }
        migrator.reporter.put(self.flow.slug, outcome)


class StreamedReply:
    """Iterate to receive the SDK's stream events, every round of the tool loop in order; ``.reply`` is set
    once the iteration ends. Time to first token is measured from the first ``*.delta`` event."""

    def __init__(self, turn: _Turn) -> None:
        self.turn = turn
        self.reply: Reply | None = None

    def __iter__(self) -> Iterator[Any]:
        turn = self.turn
        openai_client = turn.flow.migrator.openai

        def call(kwargs: dict[str, Any]) -> Generator[Any, None, Any]:
            final = None
            for event in openai_client.responses.create(**kwargs, stream=True):
                kind = getattr(event, "type", "") or ""
                if turn.first_token is None and kind.endswith(".delta"):
                    turn.first_token = time.monotonic()
                if kind in ("response.completed", "response.incomplete", "response.failed"):
                    final = event.response
                yield event
            if final is None:
                raise MigratorError("the stream ended without a final response event")
            return final

        response = yield from turn.loop(call)
        self.reply = turn.reply(response)
        turn.flow.migrator.shadows.maybe(turn, self.reply)


def _default_cache_dir(base_url: str) -> Path:
    root = Path(os.environ.get("MIGRATOR_CLIENT_CACHE") or Path.home() / ".cache" / "migrator-client")
    import hashlib

    return root / hashlib.sha256(base_url.encode()).hexdigest()[:16]


class Migrator:
    """The production client. Thread-safe; make one per process and share it.

    - ``ttl``: how long a configuration is used before it is revalidated (in the background, with its ETag);
      a ramp or rollback reaches the app within about this long.
    - ``cache_dir``: where the last good configuration of each flow and release is kept (``False``: nowhere).
    - ``max_queue``: outcomes waiting to be sent; beyond it they are dropped and counted.
    """

    def __init__(self, *, base_url: str, token: str, openai_client: Any, ttl: float = 2.0, timeout: float = 3.0,
                 cache_dir: str | Path | bool | None = None, max_queue: int = 10_000, batch_size: int = 500,
                 send_interval: float = 1.0, shadow_in_flight: int = 4) -> None:
        if cache_dir is None:
            folder: Path | None = _default_cache_dir(base_url)
        elif cache_dir is False:
            folder = None
        else:
            folder = Path(str(cache_dir))
        self.openai = openai_client
        self.config = ConfigStore(base_url=base_url, token=token, ttl=ttl, timeout=timeout, cache_dir=folder)
        self.reporter = Reporter(base_url=base_url, token=token, timeout=timeout, max_queue=max_queue,
                                 batch_size=batch_size, interval=send_interval)
        self.stats = {"requests": 0, "errors": 0, "switched": 0}
        self.shadows = Shadows(self, max_in_flight=shadow_in_flight)
        self._flows: dict[str, Flow] = {}

    def flow(self, slug: str) -> Flow:
        if slug not in self._flows:
            self._flows[slug] = Flow(self, slug)
        return self._flows[slug]

    def flush(self, timeout: float = 30.0) -> bool:
        """Send pending outcomes now (tests, shutdown); True when all were accepted in time."""
        return self.reporter.flush(timeout)

    def close(self, timeout: float = 30.0) -> bool:
        """Flush, then stop the background sender; outcomes reported after this are dropped (and counted)."""
        self.shadows.close()
        return self.reporter.close(timeout)

    @property
    def dropped(self) -> int:
        return self.reporter.stats["dropped"]


def agreement(production: Reply, shadow: Any) -> float:
    """How alike the two answers are, computed here so no content leaves the app: the same function calls
    (Jaccard of their names) when either called tools, else the text similarity (difflib ratio)."""
    import difflib

    theirs = [getattr(i, "name", "") for i in getattr(shadow, "output", None) or [] if getattr(i, "type", "") ==
              "function_call"]
    if production.tool_calls or theirs:
        a, b = set(production.tool_calls), set(theirs)
        return len(a & b) / len(a | b) if a | b else 1.0
    return difflib.SequenceMatcher(None, production.output_text, getattr(shadow, "output_text", "") or "").ratio()


class Shadows:
    """Background calls of the candidate for a sampled share of production calls (``shadow`` in the config
    answer): ``store: false``, nothing returned to the app, tools not run; at most ``max_in_flight`` at once
    (more are skipped and counted), so a shadow run never slows production."""

    def __init__(self, migrator: Migrator, *, max_in_flight: int) -> None:
        import random
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.migrator = migrator
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_in_flight), thread_name_prefix="migrator-shadow")
        self._slots = threading.BoundedSemaphore(max(1, max_in_flight))
        self._random = random.Random()
        self.stats = {"started": 0, "skipped_busy": 0, "failed": 0}

    def maybe(self, turn: _Turn, reply: Reply) -> None:
        shadow = turn.body.get("shadow")
        if not isinstance(shadow, dict) or turn.role != "production" or not shadow.get("config"):
            return
        if self._random.random() >= float(shadow.get("sample") or 0):
            return
        if not self._slots.acquire(blocking=False):
            self.stats["skipped_busy"] += 1
            return
        self.stats["started"] += 1
        try:
            self._pool.submit(self._run, turn, reply, shadow)
        except RuntimeError:  # closing
            self._slots.release()

    def _run(self, turn: _Turn, reply: Reply, shadow: dict[str, Any]) -> None:
        started = time.monotonic()
        kwargs = {**dict(shadow["config"]), "store": False}
        mode = shadow.get("mode") or turn.mode
        if mode == "stateless":
            kwargs["input"] = turn.history_before + turn.new_items
        elif mode == "previous_response" and turn.prior.get("p"):
            kwargs["previous_response_id"] = turn.prior["p"]  # read-only: the new response is not stored
            kwargs["input"] = turn.new_items
        else:  # a conversation is never written to by a shadow: this turn's input alone
            kwargs["input"] = turn.new_items
        response, error = None, None
        try:
            response = self.migrator.openai.responses.create(**kwargs)
        except Exception as exc:  # the candidate's failure is an outcome, never the app's problem
            error = exc
            self.stats["failed"] += 1
        finally:
            self._slots.release()
        text = getattr(response, "output_text", "") if response is not None else ""
        fmt = (kwargs.get("text") or {}).get("format") if isinstance(kwargs.get("text"), dict) else None
        usage = getattr(response, "usage", None)
        items = getattr(response, "output", None) or []
        self.migrator.reporter.put(turn.flow.slug, {
            "id": uuid.uuid4().hex, "at": time.time(), "release": str(shadow.get("release") or ""), "role": "shadow",
            "model": kwargs.get("model"), "latency_ms": round((time.monotonic() - started) * 1000, 2),
            "ttft_ms": None, "error": _error_class(error) if error is not None else None,
            "output_types": [getattr(i, "type", "") for i in items][:50],
            "tool_calls": [getattr(i, "name", "") for i in items if getattr(i, "type", "") == "function_call"][:50],
            "schema_valid": check_output(fmt, text) if error is None else None,
            "refusal": any(getattr(p, "type", "") == "refusal" for i in items for p in getattr(i, "content", None) or []),
            "input_tokens": getattr(usage, "input_tokens", 0) or 0 if usage else 0,
            "output_tokens": getattr(usage, "output_tokens", 0) or 0 if usage else 0,
            "agreement": round(agreement(reply, response), 4) if error is None else 0.0,
        })

    def close(self) -> None:
        self._pool.shutdown(wait=True)
