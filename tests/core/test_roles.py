import pytest
from django.contrib.auth.models import Group

from migrator.core.roles import ROLES, all_role_permissions

pytestmark = pytest.mark.django_db


def test_every_declared_role_permission_exists_and_is_granted():
    """A typo in any app's roles.py, or a permission of an app that lost its model, fails here."""
    declared = all_role_permissions()
    for role in ROLES:
        group = Group.objects.get(name=role)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert declared[role] - granted == set(), role
        assert granted - declared[role] == set(), role


def test_only_support_leads_approve_cutovers_and_only_product_owners_approve_prompts():
    declared = all_role_permissions()
    assert [r for r in ROLES if "cutover.approve_cutover" in declared[r]] == ["Support lead"]
    assert [r for r in ROLES if "core.approve_prompt" in declared[r]] == ["Product owner"]
