"""One way to fill a registry: each registry lives in core, and each app registers through a module of an
agreed name that ``CoreConfig.ready`` imports with Django's ``autodiscover_modules``.

=============  =================================  ===============================================================
module         registry                           what an app puts in it
=============  =================================  ===============================================================
``jobs``       ``migrator.core.jobs``             ``@job_handler`` background job kinds
``roles``      ``migrator.core.roles``            ``ROLE_PERMISSIONS``: what each role may do in the app
``tabs``       ``migrator.core.navigation``,      ``NAV`` sidebar entries, ``ASSISTANT_TABS``, the dashboard's
               ``migrator.core.next_actions``     ``NEXT_ACTIONS`` and ``DASHBOARD_PANELS``
``activity``   ``migrator.core.activity``         sentences for the app's audit verbs
``evidence``   ``migrator.core.evidence``         ``@provider`` cutover evidence
``diagnostics`` ``migrator.core.diagnostics``     ``@flow_check``/``@system_check`` and data ``@provider``
``demo``       ``migrator.core.demo``             ``seed_demo(connection=, users=)``, run in INSTALLED_APPS order
=============  =================================  ===============================================================

A registry never imports the apps that fill it, so registering is not a dependency on anything but core.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.utils.module_loading import autodiscover_modules, module_has_submodule

APP_MODULES = ("jobs", "roles", "tabs", "activity", "evidence", "diagnostics", "demo")


def autodiscover() -> None:
    """Import every installed app's registry modules (once, from ``CoreConfig.ready``)."""
    autodiscover_modules(*APP_MODULES)


def app_modules(name: str) -> list[ModuleType]:
    """The ``name`` module of every installed migrator app that has one, in INSTALLED_APPS order (already
    imported by :func:`autodiscover`, so this only looks them up)."""
    return [import_module(f"{config.name}.{name}") for config in apps.get_app_configs()
            if config.name.startswith("migrator.") and module_has_submodule(config.module, name)]
