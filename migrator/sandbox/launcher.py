"""Start a sandbox in a subprocess on a free loopback port (used by tests, benchmarks and scripts)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from .config import DEFAULT_API_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SandboxProcess:
    """A running sandbox: ``base_url`` ends in ``/v1``; ``client()`` gives a real ``openai.OpenAI``."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, api_key: str, state_path: Path, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.api_key = api_key
        self.state_path = state_path
        self.log_path = log
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/v1"

    def client(self, **kw: Any) -> Any:
        import openai

        kw.setdefault("base_url", self.base_url)
        kw.setdefault("api_key", self.api_key)
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 30.0)
        return openai.OpenAI(**kw)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.root_url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read())

    def reset(self, seed: str = "demo", options: dict[str, Any] | None = None) -> None:
        """Wipe the state and seed it again (``demo`` or ``empty``). With ``options`` (a one-process sandbox
        only), also answer from now on as if started with them (``rpm``, ``fail_rate``, ...; see
        ``migrator.sandbox.config.RUNTIME_OPTIONS``) and the defaults for every other one."""
        self._post("/_sandbox/reset", {"seed": seed} if options is None else {"seed": seed, "options": options})

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.root_url + "/_sandbox/health", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"sandbox not ready after {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start_sandbox(
    *,
    state_path: Path,
    seed: str = "demo",
    api_key: str = DEFAULT_API_KEY,
    assistants_api: bool = True,
    rpm: int | None = None,
    tpm: int | None = None,
    fail_rate: float = 0.0,
    lost_rate: float = 0.0,
    throttle_rate: float = 0.0,
    latency_ms: int = 0,
    stream_delay_ms: int = 0,
    stream_drop_rate: float = 0.0,
    seed_random: int = 0,
    workers: int = 0,
    reset: bool = True,
    port: int | None = None,
) -> SandboxProcess:
    """Start ``python -m migrator.sandbox`` and wait until it answers; a fresh state unless ``reset=False``."""
    state_path = Path(state_path)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [sys.executable, "-m", "migrator.sandbox", "--host", "127.0.0.1", "--port", str(port),
            "--state", str(state_path), "--seed", seed, "--api-key", api_key,
            "--assistants-api", "on" if assistants_api else "off", "--fail-rate", str(fail_rate),
            "--latency-ms", str(latency_ms), "--seed-random", str(seed_random), "--workers", str(workers)]
    if reset:
        args.append("--reset")
    if lost_rate:
        args += ["--lost-rate", str(lost_rate)]
    if throttle_rate:
        args += ["--throttle-rate", str(throttle_rate)]
    if stream_delay_ms:
        args += ["--stream-delay-ms", str(stream_delay_ms)]
    if stream_drop_rate:
        args += ["--stream-drop-rate", str(stream_drop_rate)]
    if rpm:
        args += ["--rpm", str(rpm)]
    if tpm:
        args += ["--tpm", str(tpm)]
    log = state_path.with_suffix(".log")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), env=env)
    sandbox = SandboxProcess(proc, port, api_key, state_path, log)
    sandbox.wait_ready()
    return sandbox
