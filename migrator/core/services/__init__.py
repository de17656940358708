"""Keyword-only service functions: check, act in one transaction, write an audit entry.

Views, Celery tasks and management commands are thin doors onto these.
"""


class ServiceError(Exception):
    """A business rule refused the action; the message is safe to show to the user."""


class NotAllowed(ServiceError):
    """The actor lacks the permission for this action (views turn it into 403)."""


class InvalidTransition(ServiceError):
    """The requested status change is not in the transitions table."""
