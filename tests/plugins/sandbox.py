"""Pytest fixtures for the sandbox (the project's offline OpenAI-compatible server).

- ``sandbox``: session-scoped, demo-seeded ``SandboxProcess`` (don't rely on state others may change;
  read the demo objects, or create your own).
- ``sandbox_empty``: a function-scoped sandbox holding only the model catalogue (a shared process, reset).
- ``make_sandbox(**options)``: a factory for sandboxes with custom options (rpm, fail_rate, ...). Options a
  running sandbox can take (``seed`` and ``RUNTIME_OPTIONS``) get a process of this pytest worker's pool,
  reset with them: fresh state, fresh fault sequence and limit windows, exactly as a new process would be
  (starting one costs about a second of CPU, and the suite asked for a few dozen). Each call in a test gets
  its own process; one a test stops is replaced. Other options (``api_key``, ``state_path``, ``workers``, ...)
  start a process of their own, stopped at teardown.
- ``prism_proxy``: session-scoped base URL of Prism's validating proxy (``--errors``) in front of its own
  demo sandbox; skips when ``../shared/openai-openapi/openapi.json`` or the prism binary is missing.
- ``openai_spec``: the spec document read as ``oneOf``→``anyOf`` (skips without ``../shared``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from migrator.sandbox.config import RUNTIME_OPTIONS
from migrator.sandbox.launcher import REPO_ROOT, SandboxProcess, free_port, start_sandbox

SPEC_PATH = REPO_ROOT.parent / "shared" / "openai-openapi" / "openapi.json"
PRISM_BIN = REPO_ROOT / "node_modules" / ".bin" / "prism"


def spec_path_or_skip() -> Path:
    if not SPEC_PATH.is_file():
        pytest.skip(f"OpenAI spec not found at {SPEC_PATH} (../shared is beside the checkout in CI only)")
    return SPEC_PATH


def derive_spec(document: Any) -> Any:
    """The spec as the contract tests read it: ``oneOf`` → ``anyOf`` (the spec's oneOfs overlap),
    ``discriminator`` dropped, and OpenAPI 3.0 ``nullable: true`` honoured as ``null`` allowed."""
    if isinstance(document, list):
        return [derive_spec(x) for x in document]
    if not isinstance(document, dict):
        return document
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "discriminator":
            continue
        out["anyOf" if key == "oneOf" else key] = derive_spec(value)
    if out.get("nullable") is True:
        out.pop("nullable")
        return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="session")
def openai_spec() -> dict[str, Any]:
    return derive_spec(json.loads(spec_path_or_skip().read_text()))


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with start_sandbox(state_path=tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3", seed="demo",
                       workers=1) as running:
        yield running


class SandboxPool:
    """One-process sandboxes of this pytest worker, handed out reset and configured, taken back at teardown."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.idle: list[SandboxProcess] = []

    def take(self, seed: str, options: dict[str, Any]) -> SandboxProcess:
        while self.idle:
            running = self.idle.pop()
            if running.proc.poll() is None:
                break
        else:
            running = start_sandbox(state_path=self.tmp_path_factory.mktemp("sandbox-pool") / "sandbox.sqlite3",
                                    seed="empty", workers=1)
        running.reset(seed, options=options)
        return running

    def give_back(self, running: SandboxProcess) -> None:
        if running.proc.poll() is None:  # a test that stopped its sandbox (an outage) leaves it out
            self.idle.append(running)

    def close(self) -> None:
        for running in self.idle:
            running.stop()


@pytest.fixture(scope="session")
def _sandbox_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxPool]:
    pool = SandboxPool(tmp_path_factory)
    yield pool
    pool.close()


@pytest.fixture
def sandbox_empty(_sandbox_pool: SandboxPool) -> Iterator[SandboxProcess]:
    running = _sandbox_pool.take("empty", {})
    yield running
    _sandbox_pool.give_back(running)


@pytest.fixture
def make_sandbox(tmp_path_factory: pytest.TempPathFactory, _sandbox_pool: SandboxPool
                 ) -> Iterator[Callable[..., SandboxProcess]]:
    pooled: list[SandboxProcess] = []
    started: list[SandboxProcess] = []

    def make(**options: Any) -> SandboxProcess:
        seed = options.pop("seed", "empty")
        if set(options) <= set(RUNTIME_OPTIONS):
            running = _sandbox_pool.take(seed, options)
            pooled.append(running)
            return running
        options.setdefault("state_path", tmp_path_factory.mktemp("sandbox-custom") / "sandbox.sqlite3")
        running = start_sandbox(seed=seed, **options)
        started.append(running)
        return running

    yield make
    for running in pooled:
        _sandbox_pool.give_back(running)
    for running in started:
        running.stop()


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prism exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"prism not listening after {timeout}s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def prism_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """The demo sandbox that sits behind ``prism_proxy``."""
    with start_sandbox(state_path=tmp_path_factory.mktemp("sandbox-prism") / "sandbox.sqlite3", seed="demo") as running:
        yield running


@pytest.fixture(scope="session")
def prism_proxy(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    spec = spec_path_or_skip()
    prism = str(PRISM_BIN) if PRISM_BIN.exists() else shutil.which("prism")
    if not prism or not shutil.which("node"):
        pytest.skip("Prism is not installed: run `npm install --no-audit --no-fund` (make node_modules/.bin/prism)")
    upstream: SandboxProcess = request.getfixturevalue("prism_sandbox")
    folder = tmp_path_factory.mktemp("prism")
    derived = folder / "openapi.derived.json"
    derived.write_text(json.dumps(derive_spec(json.loads(spec.read_text()))))
    port = free_port()
    log = folder / "prism.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [prism, "proxy", "--errors", "-h", "127.0.0.1", "-p", str(port), str(derived), upstream.base_url],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"},
        )
    try:
        _wait_port(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
