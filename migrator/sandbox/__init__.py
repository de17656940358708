"""The sandbox: an offline, OpenAI-compatible API server with a deterministic model.

It stands apart from the migration domain: nothing here imports other ``migrator``
modules, and migrator talks to it only over HTTP.  See ``docs/sandbox.md``.
"""
