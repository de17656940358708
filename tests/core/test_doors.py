"""Every capability has its doors: a page, a ``manage.py`` command (with ``--json``), and an API endpoint where
production or automation uses it. The table below lists the capabilities; the test fails when a door it names
is gone, and when a capability lacks a door that is not in KNOWN_GAPS (issue 26's remaining work, listed so the
gap is visible and the list only shrinks: closing a gap without removing it here fails too)."""

from __future__ import annotations

import argparse

import pytest
from django.core.management import get_commands, load_command_class
from django.urls import NoReverseMatch, reverse

# capability: (page URL name, "command [subcommand]", API URL name or None where no automation needs one)
DOORS: dict[str, tuple[str | None, str | None, str | None]] = {
    "import assistants": ("inventory:import", "import_assistants", None),
    "export assistants to an archive": ("inventory:export", "export_assistants", None),
    "convert an assistant to a Responses configuration": ("prompts:convert", "convert_assistant", None),
    "try a prompt version": ("prompts:try", "try", None),
    "test a tool": ("tools:assistant_tools", "tooltest", None),
    "choose a flow's state mode": ("flows:choose_mode", "flow mode", None),
    "create a flow": ("flows:assistant_flows", "flow create", None),
    "build a test set": ("validation:testset_new", "testset create", None),
    "run a validation": ("validation:run_start", "validate", None),
    "request, approve, ramp and roll back a cutover": ("cutover:flow", "cutover", None),
    "backfill threads into conversations": ("backfill:new", "backfill", None),
    "look up the conversation of a thread": ("backfill:thread_lookup", None, "api:v1:thread_conversation"),
    "read a flow's configuration in production": ("flows:detail", None, "api:v1:flow_config"),
    "create an API token": ("flows:token_list", "api_token create", None),
    "revoke an API token": ("flows:token_revoke", "api_token revoke", None),
    "add a webhook endpoint": ("webhooks:list", "webhook add", None),
    "send a test webhook": ("webhooks:test", "webhook test", None),
    "diagnose a flow": ("diagnostics:flow", "diagnose", None),
}
# Doors issue 26 asks for that are not built yet: (capability, door).
KNOWN_GAPS: set[tuple[str, str]] = set()
# Capabilities where a command door adds nothing (production reads them over the API).
NO_COMMAND = {"look up the conversation of a thread", "read a flow's configuration in production"}
NEEDS_API = {"look up the conversation of a thread", "read a flow's configuration in production"}


def _url_exists(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch as exc:
        return "pattern(s) tried" in str(exc)  # it exists, with arguments; an unknown name is "not found." alone
    return True


def _command_exists(spec: str) -> bool:
    name, _, sub = spec.partition(" ")
    if name not in get_commands():
        return False
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if sub:
        return any(sub in a.choices for a in actions)
    return True


def _json_flag(spec: str) -> bool:
    name, _, sub = spec.partition(" ")
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    if sub:
        parser = next(a.choices[sub] for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return any("--json" in a.option_strings for a in parser._actions)


@pytest.mark.django_db
def test_every_capability_has_its_doors():
    missing: set[tuple[str, str]] = set()
    for capability, (page, command, api) in DOORS.items():
        if page is None or not _url_exists(page):
            missing.add((capability, "page"))
        if capability not in NO_COMMAND and (command is None or not _command_exists(command)):
            missing.add((capability, "command"))
        if command and _command_exists(command) and not _json_flag(command):
            missing.add((capability, "--json"))
        if capability in NEEDS_API and (api is None or not _url_exists(api)):
            missing.add((capability, "API"))
    assert missing - KNOWN_GAPS == set(), f"capabilities that lost (or never had) a door: {sorted(missing - KNOWN_GAPS)}"
    assert KNOWN_GAPS - missing == set(), f"these doors exist now; take them off KNOWN_GAPS: {sorted(KNOWN_GAPS - missing)}"


def test_the_checker_notices_a_missing_door():
    assert not _command_exists("api_token nosuch") and _command_exists("api_token revoke")
    assert not _url_exists("backfill:no_such_page") and _url_exists("backfill:thread_lookup")
    assert _url_exists("backfill:thread_detail")  # a page with arguments exists too
