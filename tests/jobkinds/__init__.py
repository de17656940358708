"""A test-only app with job kinds that exercise time limits (installed by tests/settings.py only).

Being an ordinary app, it also proves job kinds are found by autodiscovery, not by a list.
"""
