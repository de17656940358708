"""Turn domain events into webhook deliveries.

The cutover services send ``cutover_event`` after their transaction commits, so the action has happened:
a problem recording the deliveries is logged, never raised back at the person who acted.
"""

from __future__ import annotations

import logging

from migrator.core.services import ServiceError

logger = logging.getLogger(__name__)


def on_cutover_event(sender, *, event: str, payload: dict, actor, **_: object) -> None:
    from migrator.webhooks.services import emit

    try:
        emit(event=event, payload=payload, actor=actor)
    except ServiceError:
        logger.exception("could not record webhook deliveries for %s", event)
    except Exception:  # the action committed already; losing a notification must not turn it into an error page
        logger.exception("unexpected error while recording webhook deliveries for %s", event)
