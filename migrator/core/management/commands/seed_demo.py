"""Create the demo accounts (one per role and an admin), the Sandbox connection and the demo inventory.

Only this command creates demo accounts; production deployments never run it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from migrator.core import demo
from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD
from migrator.core.services import ServiceError
from migrator.core.services.connections import ensure_sandbox_connection

DEMO_USERS = (
    ("admin", None, "Administrator"),
    ("product", PRODUCT_OWNER, "Product owner"),
    ("engineer", ENGINEER, "Engineer"),
    ("support", SUPPORT_LEAD, "Support lead"),
)


def demo_password() -> str:
    """One password for all demo accounts, kept in the data folder so repeated runs print the same one."""
    path = settings.DATA_DIR / "demo-password.txt"
    if path.exists():
        return path.read_text().strip()
    password = "demo-" + secrets.token_urlsafe(9)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


class Command(BaseCommand):
    help = "Create demo accounts, the Sandbox connection and import the demo organisation from the sandbox."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password for the demo accounts (default: generated once and kept).")
        parser.add_argument("--sandbox-url", default=settings.SANDBOX_URL)
        parser.add_argument("--skip-import", action="store_true", help="Only accounts and the connection.")

    def handle(self, *args, **options):
        password = options["password"] or demo_password()
        user_model = get_user_model()
        users = {}
        for username, role, label in DEMO_USERS:
            user, _ = user_model.objects.get_or_create(username=username, defaults={"first_name": label})
            user.set_password(password)
            if role is None:
                user.is_staff = user.is_superuser = True
            user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
            users[username] = user
        connection = ensure_sandbox_connection(base_url=options["sandbox_url"])
        self.stdout.write(f"Sandbox connection: {connection.base_url}")
        if not options["skip_import"]:
            self._seed_apps(connection, users)
        self.stdout.write(self.style.SUCCESS(f"Demo accounts (password for all: {password}):"))
        for username, _, label in DEMO_USERS:
            self.stdout.write(f"  {username:<9} {label}")

    def _seed_apps(self, connection, users) -> None:
        # Every app's demo step in INSTALLED_APPS order (found, not listed), inventory's import first.
        try:
            for label, summary in demo.seed_all(connection=connection, users=users):
                self.stdout.write(f"Demo {label}: {summary}")
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
