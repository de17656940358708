"""Per-installation secrets for local use (``make run``, tests): generated once, kept under the data dir.

Production sets ``SECRET_KEY`` and ``MIGRATOR_ENCRYPTION_KEY`` in the environment. A development machine
without them used to fall back to constants in settings.py, which meant every stored API key of every local
installation could be decrypted by anyone with the source. Now each data dir gets its own random keys in
``<data dir>/secrets/`` (mode 0600), created atomically on first use, so the web process, the worker and
management commands of one installation agree and no two installations share a key.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def _generate(kind: str) -> str:
    if kind == "fernet":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


def local_secret(data_dir: Path, name: str, kind: str = "token") -> str:
    """The secret ``name`` of this installation, generated on first use (``kind``: token or fernet)."""
    folder = data_dir / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = _generate(kind)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this installation won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value
