"""migrator: a Django control plane for moving Assistants API integrations onto Responses/Conversations.

This package file imports nothing, so that ``migrator.sandbox`` (which must run without Django or Celery)
can be imported on its own. The Celery app lives in ``migrator.celery``: Django loads it in
``CoreConfig.ready()``, and ``celery -A migrator`` finds it there by Celery's own lookup.
"""
