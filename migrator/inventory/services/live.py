"""Read the raw Assistants API objects from a live connection, as the records an archive would hold.

The same stream feeds the live import and ``export_assistants``, which is why our own export re-imports with
no loss. Everything is paginated with ``limit=100, order="asc"``. The Assistants API cannot list threads, so
thread ids come from the user's thread list (:mod:`migrator.inventory.thread_ids`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openai

from migrator.core.openai_client import describe_error
from migrator.core.services import ServiceError
from migrator.inventory.archive.reader import Problem, Record
from migrator.inventory.thread_ids import ThreadRef

PAGE = {"limit": 100, "order": "asc"}
GONE_STATUSES = (404, 405, 410, 501)
SHUTDOWN_NOTE = "OpenAI shut the Assistants API down on 2026-08-26"


class AssistantsApiGone(ServiceError):
    """The connection answers, but not the Assistants API: only an export archive can be imported."""


@contextmanager
def _quiet() -> Iterator[None]:
    # client.beta.assistants/threads are marked deprecated in the SDK; we know, and that is the point.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def is_gone(exc: BaseException) -> bool:
    return isinstance(exc, openai.APIStatusError) and exc.status_code in GONE_STATUSES


def gone_message(connection_name: str, exc: BaseException) -> str:
    return (f"The Assistants API is gone at connection '{connection_name}' "
            f"({describe_error(exc, where='GET /assistants')}). {SHUTDOWN_NOTE}; the way in now is an export "
            "archive: upload one on the Import page or run `manage.py import_assistants --archive FILE`.")


def _dump(obj: Any) -> dict[str, Any]:
    return obj.to_dict(mode="json") if hasattr(obj, "to_dict") else dict(obj)


def _resource_ids(tool_resources: Any) -> tuple[list[str], list[str]]:
    """(vector store ids, file ids) named by tool_resources."""
    stores: list[str] = []
    files: list[str] = []
    if isinstance(tool_resources, dict):
        search = tool_resources.get("file_search") or {}
        code = tool_resources.get("code_interpreter") or {}
        if isinstance(search, dict):
            stores += [s for s in search.get("vector_store_ids") or [] if isinstance(s, str)]
        if isinstance(code, dict):
            files += [f for f in code.get("file_ids") or [] if isinstance(f, str)]
    return stores, files


class LiveReader:
    """Iterate records from a connection: assistants, their vector stores and files, then each listed thread
    with its messages, runs and steps. Problems (a thread that is not there, a page that fails) are yielded
    as :class:`Problem` and the reading goes on; only a missing Assistants API stops it."""

    def __init__(self, *, client: openai.OpenAI, connection_name: str, threads: list[ThreadRef] | None = None,
                 on_progress: Callable[[int, int, str], None] | None = None) -> None:
        self.client = client
        self.connection_name = connection_name
        self.threads = threads or []
        self.on_progress = on_progress
        self.missing: list[tuple[str, str, str]] = []  # (kind, id, error) of named resources not found
        self._stores: dict[str, None] = {}
        self._files: dict[str, None] = {}

    def _progress(self, done: int, message: str) -> None:
        if self.on_progress:
            self.on_progress(done, len(self.threads) + 1, message)

    def __iter__(self) -> Iterator[Record | Problem]:
        yield from self._assistants()
        for index, ref in enumerate(self.threads, start=1):
            self._progress(index, f"Thread {index} of {len(self.threads)}: {ref.thread_id}")
            yield from self._thread(ref)
        yield from self._resources()

    def _assistants(self) -> Iterator[Record | Problem]:
        self._progress(0, "Reading assistants…")
        count = 0
        try:
            with _quiet():
                for assistant in self.client.beta.assistants.list(**PAGE):
                    raw = _dump(assistant)
                    count += 1
                    stores, files = _resource_ids(raw.get("tool_resources"))
                    self._stores.update(dict.fromkeys(stores))
                    self._files.update(dict.fromkeys(files))
                    yield Record("assistant", raw, f"assistants list item {count}")
        except openai.APIStatusError as exc:
            if count == 0 and is_gone(exc):
                raise AssistantsApiGone(gone_message(self.connection_name, exc)) from exc
            yield Problem(f"assistants list after item {count}", describe_error(exc, where="listing assistants") +
                          " The assistants after this point were not read; import again.")
        except openai.APIError as exc:
            if count == 0:
                raise ServiceError(describe_error(exc, where=f"connection '{self.connection_name}'")) from exc
            yield Problem(f"assistants list after item {count}", describe_error(exc, where="listing assistants"))

    def _thread(self, ref: ThreadRef) -> Iterator[Record | Problem]:
        tid = ref.thread_id
        where = f"thread {tid}"
        try:
            with _quiet():
                thread = _dump(self.client.beta.threads.retrieve(tid))
        except openai.APIStatusError as exc:
            if exc.status_code == 404 and "invalid url" in str(exc).lower():
                raise AssistantsApiGone(gone_message(self.connection_name, exc)) from exc
            yield Problem(where, describe_error(exc, where="retrieving the thread"), kind="thread")
            return
        except openai.APIError as exc:
            yield Problem(where, describe_error(exc, where="retrieving the thread"), kind="thread")
            return
        yield Record("thread_info", ref.as_dict(), f"thread list line {ref.line}")
        stores, files = _resource_ids(thread.get("tool_resources"))
        self._stores.update(dict.fromkeys(stores))
        self._files.update(dict.fromkeys(files))
        yield Record("thread", thread, where)
        count = 0
        try:
            with _quiet():
                for message in self.client.beta.threads.messages.list(tid, **PAGE):
                    count += 1
                    yield Record("message", _dump(message), f"{where} message {count}", thread_hint=tid)
        except openai.APIError as exc:
            yield Problem(f"{where} messages after {count}", describe_error(exc, where="listing messages") +
                          " The thread is incomplete; import it again.")
        runs = 0
        try:
            with _quiet():
                for run in self.client.beta.threads.runs.list(tid, **PAGE):
                    runs += 1
                    yield Record("run", _dump(run), f"{where} run {runs}", thread_hint=tid)
                    yield from self._steps(tid, run.id, f"{where} run {runs}")
        except openai.APIError as exc:
            yield Problem(f"{where} runs after {runs}", describe_error(exc, where="listing runs") +
                          " Tool-usage figures for this thread are incomplete; import it again.")

    def _steps(self, tid: str, run_id: str, where: str) -> Iterator[Record | Problem]:
        count = 0
        try:
            with _quiet():
                for step in self.client.beta.threads.runs.steps.list(run_id, thread_id=tid, **PAGE):
                    count += 1
                    yield Record("step", _dump(step), f"{where} step {count}", thread_hint=tid, run_hint=run_id)
        except openai.APIError as exc:
            yield Problem(f"{where} steps after {count}", describe_error(exc, where="listing run steps"))

    def _resources(self) -> Iterator[Record | Problem]:
        """Vector stores and files the tool resources name (metadata only, never contents)."""
        self._progress(len(self.threads) + 1, "Reading vector stores and files…")
        for vs_id in list(self._stores):
            try:
                store = _dump(self.client.vector_stores.retrieve(vs_id))
                file_ids = [f.id for f in self.client.vector_stores.files.list(vs_id, **PAGE)]
            except openai.APIError as exc:
                self.missing.append(("vector_store", vs_id, describe_error(exc, where=f"vector store {vs_id}")))
                continue
            store["file_ids"] = file_ids  # migrator's addition (see docs/export-format.md)
            self._files.update(dict.fromkeys(file_ids))
            yield Record("vector_store", store, f"vector store {vs_id}")
        for file_id in list(self._files):
            try:
                yield Record("file", _dump(self.client.files.retrieve(file_id)), f"file {file_id}")
            except openai.APIError as exc:
                self.missing.append(("file", file_id, describe_error(exc, where=f"file {file_id}")))
