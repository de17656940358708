"""The sandbox's state: one SQLite file (WAL) shared by every server process.

Every API object is one row of ``obj``: ``kind`` (assistant, thread, message, ...), ``parent``
(thread id of a message, conversation id of an item, '' for top-level objects), ``id``, and the
JSON body in ``data``.  ``seq`` (the rowid) gives creation order, which all lists use.  Keys of
``data`` that start with ``_`` are private (run plans, file text) and never leave the server.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS obj (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS obj_kind_parent_id ON obj(kind, parent, id);
CREATE INDEX IF NOT EXISTS obj_kind_id ON obj(kind, id);
CREATE INDEX IF NOT EXISTS obj_kind_parent_seq ON obj(kind, parent, seq);
CREATE TABLE IF NOT EXISTS blob (id TEXT PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


def public(data: dict[str, Any]) -> dict[str, Any]:
    """The object without its private ``_`` keys."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


class Store:
    """A thin object store over ``sqlite3``; one instance per process, used from one thread at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(SCHEMA)
        self._depth = 0

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """A write transaction (nested calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0

    # --- objects -------------------------------------------------------------------------
    def get(self, kind: str, object_id: str, parent: str | None = None) -> dict[str, Any] | None:
        if parent is None:
            row = self.db.execute("SELECT data FROM obj WHERE kind=? AND id=? LIMIT 1", (kind, object_id)).fetchone()
        else:
            row = self.db.execute(
                "SELECT data FROM obj WHERE kind=? AND parent=? AND id=?", (kind, parent, object_id)
            ).fetchone()
        return _loads(row[0]) if row else None

    def insert(self, kind: str, data: dict[str, Any], parent: str = "") -> dict[str, Any]:
        with self.tx():
            self.db.execute(
                "INSERT INTO obj(kind, parent, id, data) VALUES (?,?,?,?)", (kind, parent, data["id"], _dumps(data))
            )
        return data

    def insert_many(self, kind: str, rows: list[dict[str, Any]], parent: str = "") -> None:
        with self.tx():
            self.db.executemany(
                "INSERT INTO obj(kind, parent, id, data) VALUES (?,?,?,?)",
                [(kind, parent, d["id"], _dumps(d)) for d in rows],
            )

    def save(self, kind: str, data: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
        """Replace the stored body of an existing object (its position in lists is kept)."""
        with self.tx():
            if parent is None:
                self.db.execute("UPDATE obj SET data=? WHERE kind=? AND id=?", (_dumps(data), kind, data["id"]))
            else:
                self.db.execute(
                    "UPDATE obj SET data=? WHERE kind=? AND parent=? AND id=?", (_dumps(data), kind, parent, data["id"])
                )
        return data

    def delete(self, kind: str, object_id: str, parent: str | None = None) -> bool:
        with self.tx():
            if parent is None:
                cur = self.db.execute("DELETE FROM obj WHERE kind=? AND id=?", (kind, object_id))
            else:
                cur = self.db.execute("DELETE FROM obj WHERE kind=? AND parent=? AND id=?", (kind, parent, object_id))
            return cur.rowcount > 0

    def delete_children(self, parent: str) -> None:
        with self.tx():
            self.db.execute("DELETE FROM obj WHERE parent=?", (parent,))

    def all(self, kind: str, parent: str = "") -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT data FROM obj WHERE kind=? AND parent=? ORDER BY seq", (kind, parent))
        return [_loads(r[0]) for r in rows]

    def count(self, kind: str, parent: str = "") -> int:
        return self.db.execute("SELECT COUNT(*) FROM obj WHERE kind=? AND parent=?", (kind, parent)).fetchone()[0]

    def page(
        self,
        kind: str,
        parent: str = "",
        *,
        limit: int = 20,
        order: str = "desc",
        after: str | None = None,
        before: str | None = None,
        where: str = "",
        args: tuple[Any, ...] = (),
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page in ``order`` by creation; ``after``/``before`` are object ids (cursors)."""
        sql = "SELECT data FROM obj WHERE kind=? AND parent=?" + where
        params: list[Any] = [kind, parent, *args]
        asc = order == "asc"
        for cursor, later in ((after, asc), (before, not asc)):
            if cursor:
                seq = self._seq(kind, parent, cursor)
                if seq is not None:
                    sql += " AND seq > ?" if later else " AND seq < ?"
                    params.append(seq)
        reverse = before is not None and after is None
        # with only ``before`` the page is the one that ends just before the cursor
        sql += " ORDER BY seq " + ("ASC" if asc != reverse else "DESC") + " LIMIT ?"
        params.append(limit + 1)
        rows = [_loads(r[0]) for r in self.db.execute(sql, params)]
        has_more = len(rows) > limit
        rows = rows[:limit]
        if reverse:
            rows.reverse()
        return rows, has_more

    def _seq(self, kind: str, parent: str, object_id: str) -> int | None:
        row = self.db.execute("SELECT seq FROM obj WHERE kind=? AND parent=? AND id=?", (kind, parent, object_id))
        found = row.fetchone()
        return found[0] if found else None

    # --- blobs (file contents) and meta ---------------------------------------------------
    def put_blob(self, blob_id: str, content: bytes) -> None:
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO blob(id, content) VALUES (?,?)", (blob_id, content))

    def get_blob(self, blob_id: str) -> bytes | None:
        row = self.db.execute("SELECT content FROM blob WHERE id=?", (blob_id,)).fetchone()
        return bytes(row[0]) if row else None

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, value))

    def wipe(self) -> None:
        with self.tx():
            self.db.execute("DELETE FROM obj")
            self.db.execute("DELETE FROM blob")
            self.db.execute("DELETE FROM meta")
