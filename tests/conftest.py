from __future__ import annotations

import importlib.util

import pytest
from django.contrib.auth.models import Group

from migrator.core.models import Job, JobStatus
from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD
from tests import factories
from tests.plugins.dbtemplate import django_db_setup  # noqa: F401 - a conftest fixture overrides pytest-django's

pytest_plugins = [
    name
    for name in ("tests.plugins.sandbox", "tests.plugins.worker", "tests.plugins.browser", "tests.plugins.lanes")
    if importlib.util.find_spec(name) is not None
]


def _user_in(role: str, username: str):
    user = factories.UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def product_owner(db):
    return _user_in(PRODUCT_OWNER, "po")


@pytest.fixture
def engineer(db):
    return _user_in(ENGINEER, "eng")


@pytest.fixture
def support_lead(db):
    return _user_in(SUPPORT_LEAD, "lead")


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def run_queued_jobs(db):
    """Run every queued job in this process, as a worker would (tests whose on_commit never fires)."""
    from migrator.core.services.jobs import execute_job

    def run() -> list[Job]:
        done = []
        for job_id in Job.objects.filter(status=JobStatus.QUEUED).order_by("id").values_list("id", flat=True):
            done.append(execute_job(job_id))
        return done

    return run


@pytest.fixture(autouse=True)
def _traffic_counter(tmp_path_factory):
    """Config API call counts go to a spool of this test's own, never to a Redis shared with other runs."""
    from migrator.flows.services import served_cache, traffic

    traffic.use_counter(traffic.SpoolCounter(tmp_path_factory.mktemp("traffic")))
    served_cache.forget_all()
    yield
    traffic.use_counter(None)
