"""The sandbox: an offline, OpenAI-compatible API server with a deterministic model.

It stands apart from the migration domain: nothing here imports other ``migrator`` modules, Django or
Celery, and migrator talks to it only over HTTP (``manage.py sandbox`` in ``migrator.core`` only starts
it). See ``docs/sandbox.md``; the rules are checked by ``tests/core/test_architecture.py``.
"""
