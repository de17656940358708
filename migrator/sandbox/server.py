"""Running the sandbox with uvicorn (several processes share the SQLite state)."""

from __future__ import annotations

import os
import sys

from .config import ENV_VAR, SandboxConfig
from .seed import ensure
from .store import Store


def prepare(config: SandboxConfig) -> None:
    """Create/reset and seed the state once, before any worker starts."""
    store = Store(config.state_path)
    try:
        ensure(store, config.seed, reset=config.reset)
    finally:
        store.close()


def serve(config: SandboxConfig) -> None:
    import uvicorn

    prepare(config)
    config.reset = False
    os.environ[ENV_VAR] = config.to_env()
    workers = config.effective_workers()
    print(
        f"sandbox: http://{config.host}:{config.port}/v1 (state {config.state_path}, seed {config.seed}, "
        f"{workers} worker{'s' if workers > 1 else ''}, assistants api {'on' if config.assistants_api else 'off'})",
        file=sys.stderr, flush=True,
    )
    uvicorn.run(
        "migrator.sandbox.app:create_app", factory=True, host=config.host, port=config.port, workers=workers,
        log_level=config.log_level, access_log=False, lifespan="on", timeout_keep_alive=30,
        backlog=2048,
    )
