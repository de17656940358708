"""Guards for the architecture the README promises, checked on the source itself.

The rules (README "Architecture"):

1. The sandbox (``migrator.sandbox``) is a separate program: it imports no other ``migrator`` module, nothing
   of Django or Celery, and never imports anything dynamically (so no rule here can be dodged by a string).
2. The domain never imports the sandbox; it reaches it over HTTP like any other connection. The one
   exception is the glue that starts it: ``manage.py sandbox`` (``SANDBOX_GLUE``) runs the server in its own
   process and imports only its config and server modules.
3. OpenAI SDK clients are built only in ``migrator/core/openai_client.py`` and the SDK's module-level API
   (``openai.responses.create``, ``openai.api_key = …``) is never used. The sandbox's launcher is the one
   other place: its ``client()`` gives the sandbox's own tests a client for that sandbox, and the sandbox
   may not import ``migrator.core`` (rule 1).

The checker resolves relative imports to absolute module names and follows aliases (``import openai as
oa``, ``from openai import OpenAI as Fresh``). Each rule is shown to fail on a table of violations below.
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "migrator"

SANDBOX = "migrator.sandbox"
SANDBOX_GLUE = {"migrator.core.management.commands.sandbox": {"migrator.sandbox.config", "migrator.sandbox.server"}}
CLIENT_MODULES = {"migrator.core.openai_client", "migrator.sandbox.launcher"}
FORBIDDEN_IN_SANDBOX = ("django", "celery", "kombu", "importlib", "runpy")
DYNAMIC_IMPORTS = {"__import__", "importlib.import_module", "importlib.__import__", "import_module",
                   "importlib.util.spec_from_file_location", "importlib.util.find_spec", "runpy.run_module",
                   "runpy.run_path", "django.utils.module_loading.import_string", "import_string"}
# Any SDK class that builds a client, sync or async, Azure included (``Client``/``AsyncClient`` are aliases).
CLIENT_CLASSES = {"OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI", "Client", "AsyncClient"}
# Lower-case names of the ``openai`` package that are not its module-level client API.
OPENAI_SUBMODULES_ALLOWED = {"types", "pagination", "lib"}


_WALKED: dict[int, tuple[ast.AST, list[ast.AST]]] = {}


def _walk(tree: ast.AST) -> list[ast.AST]:
    """``ast.walk`` once per tree: it is pure Python, and each module's tree is walked by several checks."""
    kept = _WALKED.get(id(tree))
    if kept is None or kept[0] is not tree:
        kept = _WALKED[id(tree)] = (tree, list(ast.walk(tree)))
    return kept[1]


@dataclass(frozen=True)
class Source:
    module: str  # absolute dotted name, e.g. "migrator.sandbox.app"
    is_package: bool
    text: str

    @functools.cached_property
    def tree(self) -> ast.Module:
        # Parsed once per module per process: several tests walk every module's tree.
        return ast.parse(self.text)

    @property
    def package(self) -> str:
        return self.module if self.is_package else self.module.rpartition(".")[0]


def _absolute(source: Source, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = source.package.split(".")
    base = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    if node.level - 1 > len(parts) - 1:
        return "<beyond the top package>"
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(source: Source, tree: ast.AST) -> list[tuple[int, str]]:
    """(line, absolute module) for every import; ``from a import b`` yields both ``a`` and ``a.b``."""
    found: list[tuple[int, str]] = []
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(source, node)
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
    return found


def _aliases(source: Source, tree: ast.AST) -> dict[str, str]:
    """Local name → the dotted name it stands for (``oa`` → ``openai``, ``Fresh`` → ``openai.OpenAI``)."""
    names: dict[str, str] = {}
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(source, node)
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _is_domain_module(name: str) -> bool:
    return (name == "migrator" or name.startswith("migrator.")) and not (
        name == SANDBOX or name.startswith(SANDBOX + ".")
    )


def violations(source: Source) -> list[str]:
    """Every rule broken by one module, as readable lines (empty when it keeps the rules)."""
    tree = source.tree
    aliases = _aliases(source, tree)
    out: list[str] = []
    in_sandbox = source.module == SANDBOX or source.module.startswith(SANDBOX + ".")
    imports = imported_modules(source, tree)

    if in_sandbox:
        for line, name in imports:
            if name == "migrator":
                continue  # ``from migrator import x`` is judged by its ``migrator.x`` entry
            if _is_domain_module(name):
                out.append(f"{source.module}:{line} the sandbox imports {name}")
            if name.split(".")[0] in FORBIDDEN_IN_SANDBOX:
                out.append(f"{source.module}:{line} the sandbox imports {name}")
        for node in _walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func, aliases) in DYNAMIC_IMPORTS:
                out.append(f"{source.module}:{node.lineno} the sandbox imports dynamically")
    else:
        allowed = SANDBOX_GLUE.get(source.module, set())
        for line, name in imports:
            if (name == SANDBOX or name.startswith(SANDBOX + ".")) and not (
                name in allowed or name.rpartition(".")[0] in allowed
            ):
                out.append(f"{source.module}:{line} the domain imports {name} (reach the sandbox over HTTP)")
        for node in _walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func, aliases) in DYNAMIC_IMPORTS:
                target = node.args[0] if node.args else None
                if isinstance(target, ast.Constant) and str(target.value).startswith(SANDBOX):
                    out.append(f"{source.module}:{node.lineno} the domain imports {target.value} dynamically")

    if source.module not in CLIENT_MODULES:
        for line, name in imports:
            parts = name.split(".")
            if parts[0] == "openai" and len(parts) == 2 and parts[1][:1].islower() \
                    and parts[1] not in OPENAI_SUBMODULES_ALLOWED:
                out.append(f"{source.module}:{line} imports the SDK's module-level API {name}")
        for node in _walk(tree):
            if isinstance(node, ast.Call):
                name = _dotted(node.func, aliases)
                parts = name.split(".")
                if parts[0] == "openai" and parts[-1] in CLIENT_CLASSES:
                    out.append(f"{source.module}:{node.lineno} builds {name}(); use migrator.core.openai_client")
            elif isinstance(node, ast.ClassDef):
                for base in node.bases:
                    name = _dotted(base, aliases)
                    if name.split(".")[0] == "openai" and name.split(".")[-1] in CLIENT_CLASSES:
                        out.append(f"{source.module}:{node.lineno} subclasses {name}")
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load | ast.Store | ast.Del):
                name = _dotted(node, aliases)
                parts = name.split(".")
                if len(parts) == 2 and parts[0] == "openai" and parts[1][:1].islower() \
                        and parts[1] not in OPENAI_SUBMODULES_ALLOWED:
                    out.append(f"{source.module}:{node.lineno} uses the SDK's module-level {name}")
    return sorted(set(out))


@functools.cache
def _sources() -> tuple[Source, ...]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(REPO).with_suffix("")
        is_package = relative.name == "__init__"
        parts = relative.parts[:-1] if is_package else relative.parts
        found.append(Source(".".join(parts), is_package, path.read_text()))
    return tuple(found)


# --- the checker itself fails on each kind of violation --------------------------------------------------

IN_SANDBOX = "migrator.sandbox.fake"
IN_SANDBOX_PACKAGE = "migrator.sandbox.sub"  # an __init__.py
IN_DOMAIN = "migrator.prompts.fake"

VIOLATIONS = [
    # The sandbox importing the domain, however it is spelled.
    (IN_SANDBOX, False, "from migrator import core"),
    (IN_SANDBOX, False, "from migrator import sandbox, prompts"),
    (IN_SANDBOX, False, "from migrator.core.models import Job"),
    (IN_SANDBOX, False, "import migrator.core"),
    (IN_SANDBOX, False, "import migrator.prompts.services as services"),
    (IN_SANDBOX, False, "import migrator.settings"),
    (IN_SANDBOX, False, "from ..core.models import Job"),
    (IN_SANDBOX, False, "from .. import core"),
    (IN_SANDBOX, False, "from ..flows import api"),
    (IN_SANDBOX_PACKAGE, True, "from ...core import models"),
    (IN_SANDBOX, False, "def f():\n    from migrator.core.services import audit\n"),
    # The sandbox importing Django, Celery or anything dynamically.
    (IN_SANDBOX, False, "from django.conf import settings"),
    (IN_SANDBOX, False, "import django"),
    (IN_SANDBOX, False, "from celery import shared_task"),
    (IN_SANDBOX, False, "import importlib\nmod = importlib.import_module('migrator.core')"),
    (IN_SANDBOX, False, "from importlib import import_module\nimport_module('migrator' + '.core')"),
    (IN_SANDBOX, False, "core = __import__('migrator.core')"),
    (IN_SANDBOX, False, "import runpy\nrunpy.run_module('migrator.core')"),
    # The domain importing the sandbox.
    (IN_DOMAIN, False, "from migrator.sandbox import app"),
    (IN_DOMAIN, False, "from migrator import sandbox"),
    (IN_DOMAIN, False, "import migrator.sandbox.launcher"),
    (IN_DOMAIN, False, "from ..sandbox.config import DEFAULT_API_KEY"),
    (IN_DOMAIN, False, "from importlib import import_module\nimport_module('migrator.sandbox.app')"),
    ("migrator.core.management.commands.sandbox", False, "from migrator.sandbox.launcher import start_sandbox"),
    # SDK clients built outside the client module: every class, sync or async, Azure, aliases.
    (IN_DOMAIN, False, "import openai\nclient = openai.OpenAI()"),
    (IN_DOMAIN, False, "import openai\nclient = openai.AsyncOpenAI(api_key='x')"),
    (IN_DOMAIN, False, "import openai\nclient = openai.AzureOpenAI()"),
    (IN_DOMAIN, False, "import openai\nclient = openai.AsyncAzureOpenAI()"),
    (IN_DOMAIN, False, "import openai\nclient = openai.Client()"),
    (IN_DOMAIN, False, "import openai\nclient = openai.AsyncClient()"),
    (IN_DOMAIN, False, "from openai import OpenAI\nclient = OpenAI()"),
    (IN_DOMAIN, False, "from openai import OpenAI as Fresh\nclient = Fresh(base_url='http://x')"),
    (IN_DOMAIN, False, "from openai import AsyncAzureOpenAI as A\nclient = A()"),
    (IN_DOMAIN, False, "import openai as oa\nclient = oa.AzureOpenAI()"),
    (IN_DOMAIN, False, "import openai\nclass Mine(openai.OpenAI):\n    pass"),
    ("migrator.sandbox.app", False, "import openai\nclient = openai.OpenAI()"),
    # The SDK's module-level client API.
    (IN_DOMAIN, False, "import openai\nopenai.responses.create(model='gpt-4o', input='hi')"),
    (IN_DOMAIN, False, "import openai as oa\noa.chat.completions.create(model='gpt-4o', messages=[])"),
    (IN_DOMAIN, False, "import openai\nopenai.api_key = 'sk-live'"),
    (IN_DOMAIN, False, "import openai\nopenai.base_url = 'http://x'"),
    (IN_DOMAIN, False, "from openai import responses\nresponses.create(model='gpt-4o')"),
]

ALLOWED = [
    (IN_SANDBOX, False, "from . import catalog\nfrom .tools import check_name"),
    (IN_SANDBOX_PACKAGE, True, "from .. import catalog"),
    (IN_SANDBOX, False, "from migrator.sandbox import config\nimport migrator.sandbox.store"),
    (IN_SANDBOX, False, "import json\nfrom starlette.responses import Response"),
    (IN_SANDBOX, False, "source = 'import statistics'\n"),
    (IN_DOMAIN, False, "from migrator.core.openai_client import client_for\nclient_for(c).responses.create(model='m')"),
    (IN_DOMAIN, False, "import openai\ntry:\n    pass\nexcept openai.APIStatusError:\n    pass"),
    (IN_DOMAIN, False, "import openai\ndef f(client: openai.OpenAI) -> None:\n    client.models.list()"),
    (IN_DOMAIN, False, "from openai import NotFoundError\nfrom openai.types.responses import ResponseInputParam"),
    (IN_DOMAIN, False, "from importlib import import_module\nimport_module('migrator.prompts.jobs')"),
    (IN_DOMAIN, False, "from ..core.models import Job\nfrom .. import core"),
    ("migrator.core.management.commands.sandbox", False,
     "from migrator.sandbox.config import add_arguments\nfrom migrator.sandbox.server import serve"),
    ("migrator.core.openai_client", False, "import openai\nopenai.OpenAI(api_key='x')"),
    ("migrator.sandbox.launcher", False, "import openai\nopenai.OpenAI(base_url='http://127.0.0.1:1/v1')"),
]


@pytest.mark.parametrize(("module", "is_package", "snippet"), VIOLATIONS)
def test_the_checker_flags_each_violation(module, is_package, snippet):
    assert violations(Source(module, is_package, snippet)), f"not flagged in {module}:\n{snippet}"


@pytest.mark.parametrize(("module", "is_package", "snippet"), ALLOWED)
def test_the_checker_lets_allowed_code_through(module, is_package, snippet):
    assert violations(Source(module, is_package, snippet)) == []


def test_relative_imports_resolve_to_absolute_names():
    assert imported_modules(Source("migrator.sandbox.app", False, ""), ast.parse("from ..core.models import Job")) == [
        (1, "migrator.core.models"), (1, "migrator.core.models.Job")]
    assert imported_modules(Source("migrator.sandbox", True, ""), ast.parse("from . import app")) == [
        (1, "migrator.sandbox"), (1, "migrator.sandbox.app")]


# --- the code base keeps the rules ------------------------------------------------------------------------


def test_the_code_base_keeps_every_boundary():
    sources = _sources()
    assert any(s.module == "migrator.sandbox.app" for s in sources) and len(sources) > 100
    offenders = [line for source in sources for line in violations(source)]
    assert not offenders, "\n".join(offenders)


def test_the_glue_exception_names_real_modules():
    modules = {s.module for s in _sources()}
    assert set(SANDBOX_GLUE) <= modules and set().union(*SANDBOX_GLUE.values()) <= modules


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def test_importing_the_sandbox_imports_nothing_of_django_or_celery():
    result = _run(
        "import sys, migrator.sandbox.app, migrator.sandbox.server, migrator.sandbox.launcher\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('django', 'celery', 'kombu'))"
        " or (m.startswith('migrator') and not m.startswith('migrator.sandbox') and m != 'migrator'))\n"
        "assert not bad, bad\n"
        "import os; assert 'DJANGO_SETTINGS_MODULE' not in os.environ\n"
    )
    assert result.returncode == 0, result.stderr


def test_celery_minus_a_migrator_still_finds_the_app():
    result = _run("from celery.app.utils import find_app\nprint(find_app('migrator').main)")
    assert result.returncode == 0 and result.stdout.strip() == "migrator", result.stderr


def test_views_leave_refusals_to_the_middleware_and_htmx_headers_to_django_htmx():
    """No view catches NotAllowed (ServiceErrorMiddleware answers 403; ``message_for`` re-raises it), and no
    code sets ``HX-*`` headers or htmx's magic 286 by hand (``django_htmx.http`` has a helper for each)."""
    offenders = []
    for source in _sources():
        if source.module.startswith(SANDBOX):
            continue
        for node in _walk(source.tree):
            if isinstance(node, ast.ExceptHandler) and ".views" in source.module:
                caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                if any(isinstance(c, ast.Name | ast.Attribute) and _dotted(c, {}).endswith("NotAllowed")
                       for c in caught):
                    offenders.append(f"{source.module}:{node.lineno} catches NotAllowed")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("HX-"):
                offenders.append(f"{source.module}:{node.lineno} sets {node.value} by hand")
            if isinstance(node, ast.Constant) and node.value == 286 and not isinstance(node.value, bool):
                offenders.append(f"{source.module}:{node.lineno} uses 286; use HttpResponseStopPolling")
    assert not offenders, "\n".join(offenders)


def test_each_app_has_its_own_url_prefix_and_no_pattern_starts_with_a_variable():
    """No catch-all guarded by a list of reserved names: every app is mounted under its own prefix, and no
    pattern of an app starts with a converter (``<slug>/``) that could shadow a sibling page."""
    from django.urls import URLPattern, URLResolver, get_resolver

    prefixes: dict[str, str] = {}
    offenders = []
    for entry in get_resolver().url_patterns:
        if not isinstance(entry, URLResolver) or entry.namespace in (None, "admin"):
            continue
        prefix = str(entry.pattern)
        assert prefix not in prefixes.values(), f"{entry.namespace} shares the prefix {prefix!r}"
        prefixes[entry.namespace] = prefix
        for pattern in entry.url_patterns:
            if isinstance(pattern, URLPattern) and str(pattern.pattern).startswith("<"):
                offenders.append(f"{entry.namespace}: {pattern.pattern}")
    assert {"inventory", "prompts", "tools", "flows", "api"} <= set(prefixes)
    assert all(prefixes[app] for app in prefixes if app != "core"), prefixes
    assert not offenders, offenders


# Pure code counted as its own node: the tool conversion (no Django, no database) that prompts calls.
PURE_SHARED = "migrator.tools.conversion"
TOP_LEVEL = {"settings", "urls", "celery", "env", "wsgi", "asgi"}


def _node(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "migrator" or parts[1] == "sandbox" or parts[1] in TOP_LEVEL:
        return None
    if module == PURE_SHARED or module.startswith(PURE_SHARED + "."):
        return PURE_SHARED.removeprefix("migrator.")
    return parts[1]


def app_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for source in _sources():
        mine = _node(source.module)
        if mine is None:
            continue
        graph.setdefault(mine, set())
        for _line, name in imported_modules(source, source.tree):
            theirs = _node(name)
            if theirs and theirs != mine:
                graph[mine].add(theirs)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return []


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


# --- URL names and template includes are dependencies too ------------------------------------------------------

TEMPLATE_REF = re.compile(r"""\{%\s*(?:include|extends)\s+["']([\w-]+)/""")
TEMPLATE_URL = re.compile(r"""\{%\s*url\s+["']([\w-]+):""")
PY_STRING = re.compile(r"""["']([a-z_]+):[a-z0-9_]+(?::[a-z0-9_-]+)?["']""")


def _namespace_owners() -> dict[str, str]:
    """URL namespace → the app whose urlconf defines it, from the resolver (``api`` → flows, say)."""
    from django.urls import URLResolver, get_resolver

    owners: dict[str, str] = {}

    def walk(resolver: URLResolver) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                module = getattr(entry.urlconf_module, "__name__", "")
                app = _node(module) if module.startswith("migrator.") else None
                if entry.namespace and app and entry.namespace not in owners:
                    owners[entry.namespace] = app
                walk(entry)

    walk(get_resolver())
    return owners


def _template_owner(path: Path) -> str | None:
    relative = path.relative_to(REPO).parts
    if relative[0] == "templates":  # project templates: templates/<app>/…, the rest (base.html, partials) is core's
        return relative[1] if len(relative) > 2 and (ROOT / relative[1] / "apps.py").exists() else "core"
    return relative[1]  # migrator/<app>/templates/…


def reference_edges(owners: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(from app, to app, where) for every URL name an app's code or templates name in another app, and every
    template of another app it includes or extends."""
    owners = _namespace_owners() if owners is None else owners
    apps_with_templates = {p.name for p in ROOT.iterdir() if (p / "apps.py").exists()}
    edges: list[tuple[str, str, str]] = []
    for source in _sources():
        mine = _node(source.module)
        if mine is None:
            continue
        for match in PY_STRING.finditer(source.text):
            theirs = owners.get(match.group(1))
            if theirs and theirs != mine:
                edges.append((mine, theirs, f"{source.module} names {match.group(0)}"))
    templates = [*(REPO / "templates").rglob("*.html"), *ROOT.glob("*/templates/**/*.html")]
    for path in sorted(templates):
        mine = _template_owner(path)
        if mine is None or mine == "sandbox":
            continue
        text = path.read_text()
        where = str(path.relative_to(REPO))
        for match in TEMPLATE_URL.finditer(text):
            theirs = owners.get(match.group(1))
            if theirs and theirs != mine:
                edges.append((mine, theirs, f"{where} names {match.group(1)}:…"))
        for match in TEMPLATE_REF.finditer(text):
            theirs = match.group(1)
            if theirs in apps_with_templates and theirs != mine:
                edges.append((mine, theirs, f"{where} includes {theirs}/…"))
    return edges


def full_graph() -> dict[str, set[str]]:
    """Imports, URL names and template includes: every way one app can need another."""
    graph = app_graph()
    for mine, theirs, _where in reference_edges():
        graph.setdefault(mine, set()).add(theirs)
    return graph


def test_the_reference_scanner_sees_url_names_and_includes(tmp_path):
    owners = {"flows": "flows", "core": "core"}
    assert PY_STRING.search('reverse("flows:detail", args=[1])').group(1) == "flows"
    assert TEMPLATE_URL.search("{% url 'flows:list' %}").group(1) == "flows"
    assert TEMPLATE_REF.search('{% include "diagnostics/flow_link.html" %}').group(1) == "diagnostics"
    assert not TEMPLATE_URL.search('{% page_url "flow_list" %}')  # by key, through the registry: not a dependency
    assert _namespace_owners().get("api") == "flows" and owners["flows"] == "flows"


def test_core_names_no_other_apps_urls_or_templates():
    offenders = [where for mine, _theirs, where in reference_edges() if mine == "core"]
    assert not offenders, "\n".join(offenders)


def test_apps_depend_on_each_other_without_cycles():
    """Each app can be read (and tested) on top of the ones below it; core depends on no app. Imports, URL names
    and template includes all count; an app links to a page of an app above it by key (``page_url``)."""
    graph = full_graph()
    assert graph["core"] == set(), graph["core"]
    assert {"tools", "prompts", "flows"} <= set(graph)
    cycle = _cycle(graph)
    assert not cycle, " -> ".join(cycle) + f"\n{graph}"


def test_the_shared_tool_conversion_is_pure():
    offenders = []
    for source in _sources():
        if source.module == PURE_SHARED or source.module.startswith(PURE_SHARED + "."):
            for line, name in imported_modules(source, source.tree):
                if name.split(".")[0] == "django" or (_is_domain_module(name) and not name.startswith(PURE_SHARED)
                                                      and name not in ("migrator", "migrator.tools")):
                    offenders.append(f"{source.module}:{line} imports {name}")
    assert not offenders, "\n".join(offenders)
