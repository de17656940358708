"""Assistant totals the dashboard and the usage page read without scanning the assistants.

``core_assistanttally`` (:class:`~migrator.core.models.AssistantTally`) holds signed rows that triggers on
``core_assistant`` append on every insert, delete and relevant update; :func:`totals` sums them by key. The
triggers are (re)installed after every ``migrate`` (:func:`ensure_triggers`): SQLite drops a table's triggers when
a migration rebuilds it, and a tally whose triggers were missing is rebuilt from the assistants before it counts
again. :func:`compact` folds the rows back to one per key; the readers call it when the rows pile up (after an
import), so reading stays a constant cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DatabaseError, connections, transaction

TABLE = "core_assistanttally"
COLUMNS = "status, model, needs_review, assistants, messages, idle"
COMPACT_AT = 500  # rows: past this a reader folds them (an import appends one or two rows per assistant it writes)
WATCHED = ("status", "model", "needs_review", "message_count")

_PG = f"""
CREATE OR REPLACE FUNCTION core_assistant_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM {TABLE};
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO {TABLE} ({COLUMNS})
        VALUES (OLD.status, OLD.model, OLD.needs_review, -1, -OLD.message_count, -(OLD.message_count = 0)::int);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {TABLE} ({COLUMNS})
        VALUES (NEW.status, NEW.model, NEW.needs_review, 1, NEW.message_count, (NEW.message_count = 0)::int);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS core_assistant_tally_row ON core_assistant;
CREATE TRIGGER core_assistant_tally_row AFTER INSERT OR DELETE ON core_assistant
    FOR EACH ROW EXECUTE FUNCTION core_assistant_tally();
DROP TRIGGER IF EXISTS core_assistant_tally_update ON core_assistant;
CREATE TRIGGER core_assistant_tally_update AFTER UPDATE ON core_assistant FOR EACH ROW
    WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)})
    EXECUTE FUNCTION core_assistant_tally();
DROP TRIGGER IF EXISTS core_assistant_tally_truncate ON core_assistant;
CREATE TRIGGER core_assistant_tally_truncate AFTER TRUNCATE ON core_assistant
    FOR EACH STATEMENT EXECUTE FUNCTION core_assistant_tally();
"""
_PG_NAMES = ("core_assistant_tally_row", "core_assistant_tally_update", "core_assistant_tally_truncate")


def _sqlite_values(row: str, sign: str) -> str:
    return (f"({row}.status, {row}.model, {row}.needs_review, {sign}1, {sign}{row}.message_count, "
            f"{sign}({row}.message_count = 0))")


_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS core_assistant_tally_insert AFTER INSERT ON core_assistant BEGIN "
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES {_sqlite_values('NEW', '')}; END",
    f"CREATE TRIGGER IF NOT EXISTS core_assistant_tally_delete AFTER DELETE ON core_assistant BEGIN "
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES {_sqlite_values('OLD', '-')}; END",
    f"CREATE TRIGGER IF NOT EXISTS core_assistant_tally_update AFTER UPDATE OF {', '.join(WATCHED)} "
    f"ON core_assistant WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in WATCHED)} BEGIN "
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES {_sqlite_values('OLD', '-')}, {_sqlite_values('NEW', '')}; END",
]
_SQLITE_NAMES = ("core_assistant_tally_insert", "core_assistant_tally_delete", "core_assistant_tally_update")


@dataclass(frozen=True)
class Row:
    status: str
    model: str
    needs_review: bool
    assistants: int
    messages: int
    idle: int


def _installed(cursor, vendor: str) -> set[str]:
    if vendor == "postgresql":
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'core_assistant'::regclass AND tgname = ANY(%s)",
                       [list(_PG_NAMES)])
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_assistant'")
    return {name for (name,) in cursor.fetchall()}


def ensure_triggers(using: str = "default") -> bool:
    """Install the triggers where any is missing, and then rebuild the tally from the assistants (whatever was
    written while they were missing is counted). Returns whether anything was installed."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return False
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE core_assistant IN SHARE ROW EXCLUSIVE MODE")  # no write slips between
        names = _PG_NAMES if connection.vendor == "postgresql" else _SQLITE_NAMES
        if _installed(cursor, connection.vendor) >= set(names):
            return False
        if connection.vendor == "postgresql":
            cursor.execute(_PG)
        else:
            for statement in _SQLITE:
                cursor.execute(statement)
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(
            f"INSERT INTO {TABLE} ({COLUMNS}) SELECT status, model, needs_review, COUNT(*), "
            "COALESCE(SUM(message_count), 0), SUM(CASE WHEN message_count = 0 THEN 1 ELSE 0 END) "
            "FROM core_assistant GROUP BY status, model, needs_review")
    return True


def ensure_after_migrate(sender, using: str = "default", **kwargs) -> None:
    ensure_triggers(using)


def totals(using: str = "default") -> list[Row]:
    """One row per (status, model, needs review) that has assistants: a sum over at most a few hundred rows."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, model, needs_review, SUM(assistants), SUM(messages), SUM(idle), COUNT(*) "
                       f"FROM {TABLE} GROUP BY status, model, needs_review")
        fetched = cursor.fetchall()
    if sum(row[6] for row in fetched) > COMPACT_AT:
        compact(using)
    return [Row(status, model, bool(review), int(n), int(messages), int(idle))
            for status, model, review, n, messages, idle, _ in fetched if n]


def compact(using: str = "default") -> int:
    """Fold the tally to one row per key. The DELETE returns exactly the rows it took (a concurrent compaction
    takes the others), and their sums go back in the same transaction, so the totals never move. Best effort: a
    reader that cannot compact (a busy SQLite file) still read correct totals."""
    connection = connections[using]
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} RETURNING {COLUMNS}")
            sums: dict[tuple, list[int]] = {}
            for status, model, review, n, messages, idle in cursor.fetchall():
                acc = sums.setdefault((status, model, bool(review)), [0, 0, 0])
                acc[0] += n
                acc[1] += messages
                acc[2] += idle
            rows = [(*key, *acc) for key, acc in sums.items() if any(acc)]
            if rows:
                cursor.executemany(f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)", rows)
            return len(rows)
    except DatabaseError:
        return -1
