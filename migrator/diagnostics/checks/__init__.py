"""The diagnostics app's own checks: system health, and per-flow checks from the migration guide's
troubleshooting list (registered through ``migrator/diagnostics/diagnostics.py``). Other apps add theirs in
``<app>/diagnostics.py``."""
