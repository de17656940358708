"""A migrated SQLite test database, built once and copied thereafter (issue 19: the fast lane's time).

Migrating an empty SQLite database costs about 11 s of CPU here (Django renders the model state again for most of
the 60-odd migrations), and every test process paid it: each xdist worker of `make test-fast`, every local
`pytest` run. The first process to need it migrates as usual and keeps a copy, named by a digest of everything
that shapes the schema (each migration file, Django's version, the installed apps); the next ones copy that file
into place and run `migrate` against it, which finds nothing to do. Any change to a migration changes the digest,
so a stale copy is never used. PostgreSQL (CI's database) is left to pytest-django as before, as are
``--reuse-db``, ``--create-db`` and ``--nomigrations``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _template_key() -> str:
    import django
    from django.conf import settings

    digest = hashlib.sha256()
    digest.update(repr((django.VERSION, list(settings.INSTALLED_APPS))).encode())
    for path in sorted(REPO.glob("migrator/*/migrations/*.py")) + sorted(REPO.glob("tests/*/migrations/*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _sqlite_test_path() -> Path | None:
    from django.conf import settings

    default = settings.DATABASES["default"]
    name = (default.get("TEST") or {}).get("NAME")
    if not default["ENGINE"].endswith("sqlite3") or not name or name == ":memory:" or "mode=memory" in name:
        return None
    return Path(name)


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker,
    django_db_use_migrations: bool,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    django_db_modify_db_settings: None,
) -> Iterator[None]:
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    test_path = _sqlite_test_path()
    use_template = test_path is not None and django_db_use_migrations and not django_db_keepdb \
        and not django_db_createdb
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    keepdb = django_db_keepdb and not django_db_createdb
    if not django_db_use_migrations:
        from pytest_django.fixtures import _disable_migrations

        _disable_migrations()

    lock = None
    if use_template:
        data_dir = Path(settings.DATA_DIR)
        template = data_dir / f"test-template-{_template_key()}.sqlite3"
        # One process builds the copy while the others wait for it, rather than every worker migrating at once.
        lock = (data_dir / "test-template.lock").open("w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        _remove(test_path)
        if template.exists():
            shutil.copyfile(template, test_path)
            keepdb = True  # a migrated database: `migrate` finds nothing to do

    try:
        with django_db_blocker.unblock():
            db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False, aliases=aliases,
                                     serialized_aliases=serialized_aliases, keepdb=keepdb)
            if use_template and not template.exists():
                # sqlite3's backup API copies a consistent database whatever its journal mode (WAL here).
                partial = template.with_suffix(f".{os.getpid()}.partial")
                source, target = sqlite3.connect(test_path), sqlite3.connect(partial)
                try:
                    source.backup(target)
                finally:
                    target.close()
                    source.close()
                for old in data_dir.glob("test-template-*.sqlite3"):
                    old.unlink(missing_ok=True)
                os.replace(partial, template)
                _remove(partial)  # a WAL left beside the partial copy, if any
    finally:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    yield

    if use_template:
        # The copy is this process's own: close the connections and delete the file (and its WAL) ourselves.
        from django.db import connections

        connections.close_all()
        _remove(test_path)
    elif not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)
