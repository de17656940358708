"""Settings for the test suite: the real settings module with test-only defaults from the environment."""

import os

os.environ.setdefault("MIGRATOR_TESTING", "true")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
# Guards are evaluated by direct calls in tests (a background thread would write behind a test's transaction);
# the client's end-to-end tests turn it on with override_settings.
os.environ.setdefault("GUARD_EVALUATE_ON_INGEST", "false")

from migrator.settings import *  # noqa: F403
from migrator.settings import DATA_DIR, DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a real Celery worker process can share the test database. Named per run so
    # several test runs on one machine do not trample each other.
    _test_name = os.environ.get("MIGRATOR_TEST_DB") or str(DATA_DIR / f"test-{os.getpid()}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": _test_name}

# Job kinds with tiny time limits for the worker tests (found by autodiscovery like any app's jobs module).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.jobkinds"]  # noqa: F405
