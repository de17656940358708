"""The one actor type every service accepts: a person (a Django user) or a named system actor.

Services never branch on strings such as ``"system"``: they call :func:`require` (or :func:`may`) and let the
actor answer. A :class:`SystemActor` carries the permissions it was given explicitly, so automation can do what
its job needs and nothing else, and the audit log names it (``job #42``, ``command backfill``, ``import``).

A job acts as the person who started it when there is one (``actor_for_job``): a background step never gains
rights its requester lacked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from migrator.core.services import NotAllowed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


# Every permission a system actor may be granted. "*" grants all (used by trusted internal automation such as
# the demo seeder and the importer's drift detection, which run with no person behind them).
ALL = "*"


@dataclass(frozen=True)
class SystemActor:
    """Automation with a name and an explicit set of permissions."""

    name: str  # machine-readable: "import", "drift", "job:42", "command:backfill", "seed_demo"
    label: str = ""  # for people: "job #42", "the backfill command"
    perms: frozenset[str] = field(default_factory=frozenset)

    # Duck-typing with Django users, so templates and ``getattr(actor, "is_authenticated")`` behave.
    is_authenticated = False
    is_superuser = False
    is_staff = False
    pk = None

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return ALL in self.perms or perm in self.perms

    def get_username(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return self.label or self.name

    def __str__(self) -> str:
        return self.display


Actor = Union["AbstractBaseUser", SystemActor]

# The default system actor for internal automation with no person behind it.
SYSTEM = SystemActor("system", "system", frozenset({ALL}))


def system(name: str, label: str = "", *, perms: frozenset[str] | set[str] | None = None) -> SystemActor:
    """A named system actor; without ``perms`` it may do everything (internal automation)."""
    return SystemActor(name, label or name, frozenset(perms) if perms is not None else frozenset({ALL}))


def is_user(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and not isinstance(actor, SystemActor)


def user_or_none(actor: Any):
    """The Django user behind ``actor`` (for foreign keys such as ``created_by``), or None for automation."""
    return actor if is_user(actor) else None


def label_of(actor: Any) -> str:
    if is_user(actor):
        return actor.get_username()
    if isinstance(actor, SystemActor):
        return actor.display
    return "system"


def kind_of(actor: Any) -> str:
    return "user" if is_user(actor) else "system"


def check_actor(actor: Any) -> Actor:
    """Refuse anything that is neither a signed-in user nor a SystemActor (an anonymous user, a bare string)."""
    if is_user(actor) or isinstance(actor, SystemActor):
        return actor
    raise NotAllowed("Sign in first: this action needs a user or a named system actor.")


def may(actor: Any, perm: str) -> bool:
    try:
        check_actor(actor)
    except NotAllowed:
        return False
    return bool(actor.has_perm(perm))


def require(actor: Any, perm: str, *, action: str = "") -> Actor:
    """Raise :class:`NotAllowed` unless ``actor`` holds ``perm``. Returns the actor for chaining."""
    check_actor(actor)
    if not actor.has_perm(perm):
        what = f" to {action}" if action else ""
        raise NotAllowed(f"{label_of(actor)} needs the '{perm}' permission{what}.")
    return actor


def actor_for_job(job: Any) -> Actor:
    """A job acts as the person who started it; a job with no person is the system actor ``job:<id>``."""
    if getattr(job, "created_by_id", None) and job.created_by is not None and job.created_by.is_active:
        return job.created_by
    return system(f"job:{job.pk}", f"job #{job.pk}")
