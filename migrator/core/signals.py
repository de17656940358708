"""Domain signals that let apps react to each other without importing each other's internals."""

from django.dispatch import Signal

# Sent by the inventory import when an existing assistant's migration-relevant definition changed.
# kwargs: assistant (core.Assistant, already saved with the new definition), before (dict), after (dict),
#         changed_fields (list[str]), actor (a user or a SystemActor, see migrator.core.actors)
assistant_definition_changed = Signal()

# Sent by the prompts service when the version labelled "approved" changes (a new approval).
# kwargs: assistant_id (int), version (the newly approved PromptVersion), previous (PromptVersion | None), actor.
# Evidence gathered for the previous configuration (validation runs, cutover requests) is stale from now on.
approved_version_changed = Signal()

# Sent by the flows service when a flow's state mode, store or truncation changes.
# kwargs: flow (core.Flow, saved), before (dict), after (dict), actor.
flow_settings_changed = Signal()

# Sent (after commit) by the cutover services on request, approval, decline, void, ramp, completion and
# rollback. kwargs: event (str, e.g. "cutover.approved"), payload (dict, JSON-able), actor.
cutover_event = Signal()

# Sent by the cutover services before a ramp moves, and by ``manage.py cutover`` for its status and its
# ``guard`` action, so apps that watch live traffic (migrator.rollouts) hook in without cutover importing them.
# cutover_ramp_check: kwargs flow; a receiver returns why the ramp must wait ("" when it may go on).
cutover_ramp_check = Signal()
# cutover_status_extra: kwargs flows (list of Flow); a receiver returns {flow.pk: {extra JSON fields}}.
cutover_status_extra = Signal()
# cutover_command: kwargs action (str), flow, user, options (dict); the receiver that handles the action
# returns its message (a ServiceError refuses), the others return None.
cutover_command = Signal()
# cutover_serving_extra: kwargs flow, rollout, role ("production"/"candidate"); a receiver returns extra top-level
# keys for the config API's answer (e.g. {"shadow": {...}}), or None.
cutover_serving_extra = Signal()
