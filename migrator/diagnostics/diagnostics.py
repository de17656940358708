"""The diagnostics app's own checks (system health, and the per-flow troubleshooting list), registered like
every other app's ``diagnostics`` module."""

from migrator.diagnostics.checks import flows, system  # noqa: F401 - registers the checks
