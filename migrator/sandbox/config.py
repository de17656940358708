"""Sandbox settings, the shared command-line parser, and their round trip through the environment."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "MIGRATOR_SANDBOX_CONFIG"
DEFAULT_PORT = 8765
DEFAULT_API_KEY = "sk-sandbox"
SEEDS = ("demo", "empty")
# The options a one-process sandbox can change while it runs (``POST /_sandbox/reset`` with ``options``).
RUNTIME_OPTIONS: dict[str, type] = {
    "assistants_api": bool, "rpm": int, "tpm": int, "fail_rate": float, "lost_rate": float,
    "throttle_rate": float, "latency_ms": int, "stream_delay_ms": int, "stream_drop_rate": float,
    "seed_random": int,
}


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    state: str = "sandbox.sqlite3"
    reset: bool = False
    seed: str = "demo"
    api_key: str = DEFAULT_API_KEY
    assistants_api: bool = True
    rpm: int | None = None
    tpm: int | None = None
    fail_rate: float = 0.0
    lost_rate: float = 0.0
    throttle_rate: float = 0.0
    latency_ms: int = 0
    stream_delay_ms: int = 0
    stream_drop_rate: float = 0.0
    seed_random: int = 0
    workers: int = 0  # 0 = automatic (2, or 1 when limits/faults need one shared counter)
    log_level: str = "warning"

    @property
    def state_path(self) -> Path:
        return Path(self.state)

    def effective_workers(self) -> int:
        if self.workers > 0:
            return self.workers
        if (self.rpm or self.tpm or self.fail_rate > 0 or self.lost_rate > 0 or self.throttle_rate > 0
                or self.stream_drop_rate > 0):
            return 1  # rate-limit windows and the seeded fault sequence live in one process
        return 2

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> SandboxConfig:
        raw = os.environ.get(ENV_VAR)
        return cls(**json.loads(raw)) if raw else cls()


def _on_off(value: str) -> bool:
    if value.lower() in ("on", "true", "1", "yes"):
        return True
    if value.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected on or off")


def add_arguments(parser: argparse.ArgumentParser, *, default_state: str | None = None) -> None:
    """The options of ``manage.py sandbox`` and ``python -m migrator.sandbox``."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--state", default=default_state or "var/sandbox.sqlite3", help="SQLite state file")
    parser.add_argument("--reset", action="store_true", help="wipe the state and seed it again")
    parser.add_argument("--seed", choices=SEEDS, default="demo", help="data for a new (or reset) state")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--assistants-api", type=_on_off, default=True, metavar="on|off")
    parser.add_argument("--rpm", type=int, default=None, help="requests per minute (429 beyond)")
    parser.add_argument("--tpm", type=int, default=None, help="tokens per minute (429 beyond)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of requests answered 500/503")
    parser.add_argument("--lost-rate", type=float, default=0.0,
                        help="share of writes (POST/DELETE) committed and then answered 502 (a lost answer)")
    parser.add_argument("--throttle-rate", type=float, default=0.0,
                        help="share of requests answered 429 with retry-after-ms (nothing committed)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every request")
    parser.add_argument("--stream-delay-ms", type=int, default=0,
                        help="pause before every streamed event after the first (stream=true)")
    parser.add_argument("--stream-drop-rate", type=float, default=0.0,
                        help="share of streams whose connection is cut mid-way (seeded)")
    parser.add_argument("--seed-random", type=int, default=0, help="seed of the fault generator")
    parser.add_argument("--workers", type=int, default=0, help="server processes (0 = automatic)")
    parser.add_argument("--log-level", default="warning")


def from_namespace(ns: argparse.Namespace | dict) -> SandboxConfig:
    values = vars(ns) if isinstance(ns, argparse.Namespace) else dict(ns)
    fields = {f.name for f in dataclasses.fields(SandboxConfig)}
    return SandboxConfig(**{k: v for k, v in values.items() if k in fields})
