"""DATABASE_URL carries its options to psycopg (issue 19: a hand-written parser once dropped ``sslmode``)."""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql.base import DatabaseWrapper

from migrator.env import parse_database_url


def test_sslmode_and_connect_timeout_reach_the_connection_parameters():
    config = parse_database_url("postgres://app:s%40cret@db.example.com:6432/mig?sslmode=require&connect_timeout=3")
    assert config["OPTIONS"] == {"sslmode": "require", "connect_timeout": 3}
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == ("app", "s@cret", "db.example.com", "6432")
    params = DatabaseWrapper({**config, "TIME_ZONE": None, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False}).get_connection_params()
    assert params["sslmode"] == "require"
    assert params["connect_timeout"] == 3


def test_a_postgres_url_keeps_connections_for_a_minute_with_health_checks():
    config = parse_database_url("postgresql://u@h/db")
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (60, True)


@pytest.mark.parametrize("url", ["sqlite:////var/lib/migrator/db.sqlite3", "sqlite3:////var/lib/migrator/db.sqlite3"])
def test_sqlite_urls_name_their_absolute_file(url):
    config = parse_database_url(url)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert str(config["NAME"]) == "/var/lib/migrator/db.sqlite3"


@pytest.mark.parametrize(
    ("url", "says"),
    [("mysql://u@h/db", "unsupported scheme 'mysql'"), ("postgres://u@h:5432/", "names no database"),
     ("sqlite://", "names no SQLite file")],
)
def test_unusable_urls_stop_start_up_naming_the_variable(url, says):
    with pytest.raises(ImproperlyConfigured, match=says) as caught:
        parse_database_url(url)
    assert "DATABASE_URL" in str(caught.value)


def _server_url() -> str:
    return os.environ.get("MIGRATOR_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def test_options_in_the_url_are_used_by_a_real_connection(django_db_blocker, request):
    """Over a real connection: the server sees the application_name the URL asked for, and sslmode=require is
    enforced by psycopg (TLS in use, or a refusal that says SSL), never silently ignored."""
    psycopg = pytest.importorskip("psycopg")
    marker = f"migrator-test-{uuid.uuid4().hex[:8]}"
    base = _server_url()
    try:
        psycopg.connect(base.replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL answers at {base} (set MIGRATOR_TEST_POSTGRES_URL)")

    django_db_blocker.unblock()  # a connection of its own, outside the test database
    request.addfinalizer(django_db_blocker.restore)
    config = parse_database_url(f"{base}?application_name={marker}&connect_timeout=3")
    wrapper = DatabaseWrapper({**config, "TIME_ZONE": None, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
                               "CONN_MAX_AGE": 0})
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT current_setting('application_name')")
            assert cursor.fetchone()[0] == marker
    finally:
        wrapper.close()

    strict = parse_database_url(f"{base}?sslmode=require&connect_timeout=3")
    wrapper = DatabaseWrapper({**strict, "TIME_ZONE": None, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
                               "CONN_MAX_AGE": 0})
    try:
        wrapper.ensure_connection()
    except Exception as exc:  # the server has no TLS: psycopg refused, as sslmode=require says it must
        assert "ssl" in str(exc).lower()
    else:
        assert wrapper.connection.info.pgconn.ssl_in_use
    finally:
        wrapper.close()
