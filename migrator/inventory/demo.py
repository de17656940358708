"""Seed the inventory with the demo organisation, imported live from the Sandbox connection.

``make run`` (``manage.py seed_demo``) runs :func:`seed_demo` first, like every app's demo step (``migrator.core.demo``).
The Assistants API cannot list threads, so the demo's thread list comes from the sandbox's private endpoint
``GET /_sandbox/demo-thread-ids`` (CSV ``thread_id,flow,end_user_id,tags``); everything else is the ordinary
live import, over HTTP, through the real SDK. The one private call uses migrator's own httpx directly, on purpose:
it is not an OpenAI route, so it does not belong to the SDK, and no httpx object is handed to the SDK.
"""

from __future__ import annotations

import re

import httpx

from migrator.core.actors import SYSTEM
from migrator.core.models import Connection
from migrator.core.services import ServiceError
from migrator.inventory.services.imports import import_from_connection
from migrator.inventory.thread_ids import parse_thread_list

THREAD_LIST_PATH = "/_sandbox/demo-thread-ids"


def sandbox_root(base_url: str) -> str:
    """``http://127.0.0.1:8765/v1`` → ``http://127.0.0.1:8765``."""
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def fetch_demo_thread_list(connection: Connection) -> str:
    url = sandbox_root(connection.base_url) + THREAD_LIST_PATH
    try:
        reply = httpx.get(url, headers={"Authorization": f"Bearer {connection.get_api_key()}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise ServiceError(f"The sandbox did not answer at {url}: {exc}") from exc
    if reply.status_code != 200:
        raise ServiceError(f"The sandbox answered HTTP {reply.status_code} at {url}; is it the project's sandbox?")
    return reply.text


def seed_demo_inventory(*, connection: Connection, actor=SYSTEM) -> dict:
    """Import the demo organisation synchronously; returns the import report (same shape as Job.result)."""
    threads = parse_thread_list(fetch_demo_thread_list(connection))
    if threads.errors:
        raise ServiceError("The sandbox's demo thread list is not valid: " + "; ".join(threads.errors[:5]))
    report = import_from_connection(connection=connection, actor=actor, thread_ids=threads.refs)
    return report.to_dict()


def seed_demo(*, connection: Connection, users: dict) -> str:
    """The first demo step: the sandbox's demo organisation, imported by the demo seeder."""
    from migrator.core.actors import system

    try:
        report = seed_demo_inventory(connection=connection, actor=system("seed_demo", "the demo seeder"))
    except Exception as exc:
        raise ServiceError(f"Importing the demo organisation from {connection.base_url} failed: {exc}") from exc
    return str(report)
