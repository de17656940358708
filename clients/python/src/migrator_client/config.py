"""Fetching what a flow serves: ETag revalidation on a short TTL, refreshed off the request path, with the last
good copy on disk so the app keeps answering while migrator is down.

migrator answers per subject while a cutover ramps (``X-Migrator-Subject``). It assigns a subject to the
candidate by a stable hash (``sha256(slug NUL subject)``, first 8 bytes, modulo 10,000, below
``percent × 100``), so the client predicts each subject's side from the rollout it last saw and keeps one
copy per side (production / candidate / everyone), not one per subject. Every answer is checked against the
prediction; a mismatch turns prediction off for that flow (one copy per subject from then on).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

logger = logging.getLogger("migrator_client")

BUCKETS = 10_000


class MigratorError(Exception):
    """migrator refused (``code`` as in its JSON error) or is unreachable with no good copy to fall back on."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def bucket(slug: str, subject: str) -> int:
    digest = hashlib.sha256(f"{slug}\x00{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def release_of(body: dict[str, Any]) -> str:
    """The release hash that an answer serves: ``release`` when migrator sends it, else the version's config
    hash (older servers), else the ETag."""
    return str(body.get("release") or (body.get("version") or {}).get("config_hash") or body.get("etag") or "")


@dataclass
class Served:
    body: dict[str, Any]
    etag: str
    fetched: float  # time.monotonic() of the last 200/304
    subject: str | None = None  # the subject it was fetched for (used to revalidate)

    @property
    def release(self) -> str:
        return release_of(self.body)

    @property
    def role(self) -> str:
        return str((self.body.get("rollout") or {}).get("served") or (self.body.get("version") or {}).get("label")
                   or "production")

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.body.get("config") or {})

    @property
    def mode(self) -> str:
        return str((self.body.get("flow") or {}).get("mode") or "stateless")

    @property
    def version_number(self) -> int | None:
        number = (self.body.get("version") or {}).get("number")
        return number if isinstance(number, int) else None


@dataclass
class FlowView:
    """What the client last saw of a flow's rollout, to predict subjects' sides."""

    stage: str = ""
    percent: Decimal = Decimal(0)
    production_version: int | None = None
    candidate_version: int | None = None
    predict: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def side(self, slug: str, subject: str | None) -> str | None:
        if not self.stage or not self.predict:
            return None
        if self.stage != "rolling_out":
            return "all"
        if subject and bucket(slug, subject) < int(self.percent * BUCKETS / 100):
            return "candidate"
        return "production"


def _side_of(body: dict[str, Any]) -> str:
    rollout = body.get("rollout") or {}
    if rollout.get("stage") != "rolling_out":
        return "all"
    return "candidate" if rollout.get("served") == "candidate" else "production"


class ConfigStore:
    def __init__(self, *, base_url: str, token: str, ttl: float, timeout: float, cache_dir: Path | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.ttl = ttl
        self.timeout = timeout
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Served] = {}
        self._views: dict[str, FlowView] = {}
        self._releases: dict[str, dict[str, Any]] = {}
        self._refreshing: set[tuple[str, str]] = set()
        self.stats = {"fetches": 0, "not_modified": 0, "failures": 0, "served_from_disk": 0, "stale_served": 0}

    # --- reading ------------------------------------------------------------------------------------------

    def get(self, slug: str, subject: str | None) -> Served:
        """What ``slug`` serves to ``subject``; never waits on migrator while a copy is in hand."""
        view = self._view(slug)
        side = view.side(slug, subject) if view else None
        key = (slug, side if side else f"subject:{subject or ''}")
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            if time.monotonic() - entry.fetched >= self.ttl:
                self._refresh_later(key, entry)
            return entry
        try:
            return self._fetch(slug, subject, None)
        except MigratorError as exc:
            if exc.status and exc.status != 599:
                raise  # migrator answered: a refusal is not an outage
            fallback = self._from_disk(slug, side or "all") or self._from_disk(slug, "production")
            if fallback is None:
                raise
            self.stats["served_from_disk"] += 1
            with self._lock:
                self._entries.setdefault(key, fallback)
            return fallback

    def view(self, slug: str) -> FlowView | None:
        return self._view(slug)

    def release_body(self, release: str) -> dict[str, Any] | None:
        """A release's answer as last seen (memory, then disk): how a pinned conversation keeps its release."""
        with self._lock:
            body = self._releases.get(release)
        if body is None and self.cache_dir is not None and release.isalnum():
            body = _read_json(self.cache_dir / "releases" / f"{release}.json")
            if body is not None:
                with self._lock:
                    self._releases[release] = body
        return body

    # --- fetching -----------------------------------------------------------------------------------------

    def _view(self, slug: str) -> FlowView | None:
        with self._lock:
            view = self._views.get(slug)
        if view is None and self.cache_dir is not None:
            saved = _read_json(self.cache_dir / "flows" / slug / "view.json")
            if saved:
                view = FlowView(stage=saved.get("stage", ""), percent=Decimal(str(saved.get("percent", 0))),
                                production_version=saved.get("production_version"),
                                candidate_version=saved.get("candidate_version"), predict=saved.get("predict", True))
                with self._lock:
                    self._views.setdefault(slug, view)
        return view

    def _refresh_later(self, key: tuple[str, str], entry: Served) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)
            self.stats["stale_served"] += 1

        def run() -> None:
            try:
                self._fetch(key[0], entry.subject, entry)
            except MigratorError as exc:
                logger.info("migrator: keeping the last good configuration of %s: %s", key[0], exc)
                with self._lock:  # try again after another TTL, not on every request
                    entry.fetched = time.monotonic()
            except Exception:  # pragma: no cover - a refresh must never take the app down
                logger.exception("migrator: refreshing %s failed", key[0])
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=run, name="migrator-config-refresh", daemon=True).start()

    def _fetch(self, slug: str, subject: str | None, known: Served | None) -> Served:
        url = f"{self.base_url}/api/v1/flows/{urllib.parse.quote(slug)}/config"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if subject:
            headers["X-Migrator-Subject"] = subject
        if known is not None:
            headers["If-None-Match"] = known.etag
        request = urllib.request.Request(url, headers=headers, method="GET")
        self.stats["fetches"] += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read().decode())
                etag = response.headers.get("ETag") or f'"{body.get("etag", "")}"'
        except urllib.error.HTTPError as exc:
            if exc.code == 304 and known is not None:
                self.stats["not_modified"] += 1
                with self._lock:
                    known.fetched = time.monotonic()
                return known
            self.stats["failures"] += 1
            code, message = "", f"migrator answered {exc.code}"
            try:
                error = json.loads(exc.read().decode()).get("error") or {}
                code, message = error.get("code", ""), error.get("message", message)
            except (ValueError, AttributeError, OSError):
                pass
            raise MigratorError(message, code=code, status=exc.code if exc.code < 500 else 599) from exc
        except (OSError, ValueError) as exc:  # refused, reset, timed out, not JSON
            self.stats["failures"] += 1
            raise MigratorError(f"migrator is unreachable: {exc}", status=599) from exc
        served = Served(body=body, etag=etag, fetched=time.monotonic(), subject=subject)
        self._learn(slug, subject, served)
        return served

    def _learn(self, slug: str, subject: str | None, served: Served) -> None:
        rollout = served.body.get("rollout") or {}
        with self._lock:
            view = self._views.get(slug) or FlowView()
            view.stage = str(rollout.get("stage") or "complete")
            view.percent = Decimal(str(rollout.get("percent") or 0))
            view.production_version = rollout.get("production_version")
            view.candidate_version = rollout.get("candidate_version")
            actual = _side_of(served.body)
            # Check the prediction against the rollout this very answer reports (a ramp may have moved).
            expected = view.side(slug, subject) if view.predict else None
            if view.predict and subject and expected is not None and expected != actual:
                logger.warning("migrator: subject assignment of %s differs from the client's; asking per subject",
                               slug)
                view.predict = False
            self._views[slug] = view
            key = (slug, actual if view.predict else f"subject:{subject or ''}")
            self._entries[key] = served
            self._releases[served.release] = served.body
        if self.cache_dir is not None:
            folder = self.cache_dir / "flows" / slug
            _write_json(folder / "view.json", {"stage": view.stage, "percent": str(view.percent),
                                               "production_version": view.production_version,
                                               "candidate_version": view.candidate_version, "predict": view.predict})
            _write_json(folder / f"{actual}.json", {"body": served.body, "etag": served.etag})
            if served.release.isalnum():
                _write_json(self.cache_dir / "releases" / f"{served.release}.json", served.body)

    def _from_disk(self, slug: str, side: str) -> Served | None:
        if self.cache_dir is None:
            return None
        saved = _read_json(self.cache_dir / "flows" / slug / f"{side}.json")
        if not saved or not isinstance(saved.get("body"), dict):
            return None
        return Served(body=saved["body"], etag=saved.get("etag", ""), fetched=time.monotonic())


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, value: Any) -> None:
    """Atomic (write a temporary file, then rename): a crash never leaves half a last-good copy."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(handle, "w") as out:
            json.dump(value, out)
        os.replace(tmp, path)
    except OSError as exc:  # a full or read-only disk costs the fallback, never the request
        logger.warning("migrator: could not keep %s: %s", path, exc)
