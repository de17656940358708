"""Domain signals that let apps react to each other without importing each other's internals."""

from django.dispatch import Signal

# Sent by the inventory import when an existing assistant's migration-relevant definition changed.
# kwargs: assistant (core.Assistant, already saved with the new definition), before (dict), after (dict),
#         changed_fields (list[str]), actor (a user or a SystemActor, see migrator.core.actors)
assistant_definition_changed = Signal()
