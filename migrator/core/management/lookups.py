"""What a management command names on its command line, looked up once for every command.

Commands take people by username (``--by``), assistants by their legacy ``asst_…`` id, flows by slug and
connections by name. Each lookup either returns the row or stops the command with a ``CommandError`` that says
what was not found and how the thing is named, so every door says it the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from migrator.core.models import Assistant, Connection, Flow

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def active_user(username: str) -> AbstractBaseUser:
    """The person a command acts as (``--by``): services check what they may do, as on the pages."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user named {username!r}.")
    return user


def assistant(legacy_id: str) -> Assistant:
    found = Assistant.objects.filter(legacy_id=legacy_id).first()
    if found is None:
        raise CommandError(f"No assistant {legacy_id!r} (ids are the legacy asst_… ids).")
    return found


def flow(slug: str, *, of: Assistant | None = None) -> Flow:
    """A flow by slug; with ``of``, only one of that assistant's flows."""
    queryset = Flow.objects.filter(slug=slug)
    if of is not None:
        found = queryset.filter(assistant=of).first()
        if found is None:
            raise CommandError(f"{of.display_name} has no flow {slug!r}.")
        return found
    found = queryset.first()
    if found is None:
        raise CommandError(f"No flow with the slug {slug!r}.")
    return found


def connection(name: str) -> Connection:
    found = Connection.objects.filter(name=name).first()
    if found is None:
        raise CommandError(f"No connection named {name!r}.")
    return found
