"""Issue 21, finding 11: infrastructure pages need a role; job pages never show an upload's server path."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrator.core.models import JobStatus
from tests.factories import JobFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_in_no_group_cannot_read_the_system_pages(client, support_lead):
    nobody = UserFactory(username="nobody")
    client.force_login(nobody)
    for url in (reverse("core:system_status"), "/diagnostics/system/"):
        response = client.get(url)
        assert response.status_code == 403, url
    client.force_login(support_lead)
    assert client.get(reverse("core:system_status")).status_code == 200
    assert client.get("/diagnostics/system/").status_code == 200


def test_an_import_job_page_does_not_show_where_the_upload_is_stored(client, support_lead, engineer):
    job = JobFactory(kind="inventory.import_archive", status=JobStatus.FAILED, created_by=engineer,
                     params={"path": "/srv/migrator/var/media/inventory-imports/4f1c-export.json",
                             "filename": "export.json", "delete_after": True})
    for user in (support_lead, engineer):
        client.force_login(user)
        page = client.get(job.get_absolute_url()).content.decode()
        assert "export.json" in page and "/srv/migrator" not in page and "inventory-imports" not in page
