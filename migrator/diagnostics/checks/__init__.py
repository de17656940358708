"""The diagnostics app's own checks: system health, and per-flow checks from the migration guide's
troubleshooting list. Other apps add theirs in ``<app>/diagnostics.py``."""

from migrator.diagnostics.checks import flows, system  # noqa: F401 - registers the checks
