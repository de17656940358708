"""Statuses move through core's transition helper only (``migrator.core.status.move`` / ``move_all``).

The test reads every module under ``migrator/`` (its syntax, not its behaviour) and fails on any other write of a
``status`` field: ``obj.status = …``, ``setattr(obj, "status", …)``, ``….update(status=…)``,
``….update(**fields)`` where ``fields`` may hold a status, and ``bulk_update(…, ["status"])``. The helper's own
two functions are the writes everything else goes through. Migrations are not read: each runs once, against
the historical models of its time, and may not import live code such as the helper.

Where a write is plainly not to a model the rule lets it be, by what the code says rather than by a list:
``self.status`` in a class that is not a model, an attribute of a parameter annotated with a class that is not
a model, and dict updates written with a dict argument (``d.update({"status": …})``; ``QuerySet.update`` takes
keywords only).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from django.apps import apps

import migrator
from migrator.core import status as helper

ROOT = Path(migrator.__file__).parent
HELPER_FILE = Path(inspect.getsourcefile(helper)).resolve()
HELPER_FUNCTIONS = frozenset({helper.move.__name__, helper.move_all.__name__})


def _status_models() -> set[str]:
    """Class names of the models whose status field is a machine (it has choices), and of their querysets.

    (The inventory's copies of legacy objects keep the legacy API's status as plain text: data, not a machine.)
    """
    names: set[str] = set()
    for model in apps.get_models():
        if any(f.name == "status" and f.choices for f in model._meta.concrete_fields):
            names.add(model.__name__)
            names.add(type(model._default_manager.get_queryset()).__name__)
    return names


def _last_name(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation: "Flow"
        return node.value.rsplit(".", 1)[-1]
    if isinstance(node, ast.Subscript):  # QuerySet["Job"]
        return _last_name(node.value)
    return ""


def _root(node: ast.AST) -> str:
    """``Job`` for ``Job.objects.filter(…)``: the name a call chain starts from."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _constant_keys(node: ast.Dict) -> set[str] | None:
    """The dict literal's keys when all are constant strings (None: a key is computed or spread)."""
    keys: set[str] = set()
    for key in node.keys:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        keys.add(key.value)
    return keys


class _Checker(ast.NodeVisitor):
    def __init__(self, tree: ast.Module, models: set[str], where: str) -> None:
        self.models = models
        self.where = where
        self.found: list[str] = []
        self.classes: list[str] = []
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        # Module- and class-level constant dicts (e.g. a column map) whose values a computed key may take.
        self.constant_dicts: dict[str, set[str]] = {}
        self.constant_lists: dict[str, set[str]] = {}  # FIELDS = ("a", "b")
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple | ast.List):
                values = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
                if len(values) == len(node.value.elts) and all(isinstance(v, str) for v in values):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.constant_lists[target.id] = set(values)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                values = [v.value for v in node.value.values if isinstance(v, ast.Constant)]
                if len(values) == len(node.value.values) and all(isinstance(v, str) for v in values):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.constant_dicts[target.id] = set(values)

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.where}:{node.lineno}: {what}")

    # --- scopes ---------------------------------------------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    # --- attribute stores ---------------------------------------------------------------------------------------

    def _store(self, target: ast.AST, node: ast.AST) -> None:
        for sub in ast.walk(target):
            if (isinstance(sub, ast.Attribute) and sub.attr == "status" and isinstance(sub.ctx, ast.Store)
                    and not self._not_a_model(sub.value)):
                self.flag(node, f"{ast.unparse(sub)} = …")

    def _not_a_model(self, receiver: ast.AST) -> bool:
        if not isinstance(receiver, ast.Name) or not self.functions:
            return False
        function = self.functions[-1]
        if receiver.id == "self":
            return bool(self.classes) and self.classes[-1] not in self.models
        args = function.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == receiver.id and arg.annotation is not None:
                name = _last_name(arg.annotation)
                return bool(name) and name not in self.models and name not in ("Model", "Any")
        return False

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._store(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._store(node.target, node)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._store(node.target, node)
        self.generic_visit(node)

    # --- calls --------------------------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and name.value == "status":
                self.flag(node, f"{ast.unparse(node)[:80]}")
        if isinstance(func, ast.Attribute) and func.attr == "update" and not node.args:
            for keyword in node.keywords:
                if keyword.arg == "status":
                    self.flag(node, f"….update(status=…): {ast.unparse(node)[:80]}")
                elif keyword.arg is None and not self._status_free(keyword.value):
                    self.flag(node, f"….update(**…) that may set status: {ast.unparse(node)[:80]}")
        if isinstance(func, ast.Attribute) and func.attr == "bulk_update":
            fields = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "fields"), None)
            names = self._field_names(fields)
            if "status" in (names or ()) or (names is None and _root(func.value) in self.models):
                self.flag(node, f"bulk_update that may set status: {ast.unparse(node)[:80]}")
        self.generic_visit(node)

    def _field_names(self, node: ast.AST | None) -> set[str] | None:
        """The names in a literal field list, following ``*CONSTANT`` tuples (None: not known)."""
        if not isinstance(node, ast.List | ast.Tuple):
            return None
        names: set[str] = set()
        for e in node.elts:
            if isinstance(e, ast.Constant) and isinstance(e.value, str):
                names.add(e.value)
            elif isinstance(e, ast.Starred) and isinstance(e.value, ast.Name) and e.value.id in self.constant_lists:
                names |= self.constant_lists[e.value.id]
            elif isinstance(e, ast.Starred) and isinstance(e.value, ast.Call) and _last_name(e.value.func) == "list":
                inner = e.value.args[0] if e.value.args else None
                if not (isinstance(inner, ast.Name) and inner.id in self.constant_lists):
                    return None
                names |= self.constant_lists[inner.id]
            else:
                return None
        return names

    def _status_free(self, value: ast.AST) -> bool:
        """Whether ``**value`` provably holds no ``status`` key."""
        if isinstance(value, ast.Dict):
            keys = _constant_keys(value)
            return keys is not None and "status" not in keys
        if isinstance(value, ast.DictComp):
            # {COLUMNS[k]: … for …}: the keys are the values of a constant dict.
            key = value.key
            if isinstance(key, ast.Subscript):
                keys = self.constant_dicts.get(_last_name(key.value))
                return keys is not None and "status" not in keys
            return False
        if isinstance(value, ast.Name) and self.functions:
            return self._name_status_free(value.id, self.functions[-1])
        return False

    def _name_status_free(self, name: str, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        args = function.args
        named = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        if name in named:
            return False  # a dict handed in: anything may be in it
        if args.kwarg is not None and args.kwarg.arg == name:
            return "status" in named  # **fields beside an explicit status parameter cannot hold a status
        writes = [w for node in ast.walk(function) for w in self._writes_to(name, node)]
        return bool(writes) and all(writes)

    def _writes_to(self, name: str, node: ast.AST) -> list[bool]:
        """One entry per write to dict ``name`` in ``node``: whether that write provably adds no status."""
        if isinstance(node, ast.Assign | ast.AnnAssign):
            out = []
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name) and target.id == name:
                    out.append(isinstance(node.value, ast.Dict) and not self._dict_has_status(node.value))
                elif isinstance(target, ast.Subscript) and _last_name(target.value) == name:
                    out.append(isinstance(target.slice, ast.Constant) and target.slice.value != "status")
            return out
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name
                and node.func.attr in ("update", "setdefault")):
            return []
        if any(k.arg in (None, "status") for k in node.keywords):
            return [False]
        first = node.args[0] if node.args else None
        if node.func.attr == "update":
            return [first is None or (isinstance(first, ast.Dict) and not self._dict_has_status(first))]
        return [isinstance(first, ast.Constant) and first.value != "status"]

    @staticmethod
    def _dict_has_status(node: ast.Dict) -> bool:
        keys = _constant_keys(node)
        return keys is None or "status" in keys


def status_writes(source: str, *, where: str = "<snippet>", models: set[str] | None = None) -> list[str]:
    """Every direct write of a status field in ``source`` (the helper's own functions in its module left out)."""
    tree = ast.parse(source)
    if where == str(HELPER_FILE):
        tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name in HELPER_FUNCTIONS)]
    checker = _Checker(tree, _status_models() if models is None else models, where)
    checker.visit(tree)
    return checker.found


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.relative_to(ROOT).parts)


def test_no_module_writes_a_status_outside_the_transition_helper():
    found = [w for path in _modules() for w in status_writes(path.read_text(), where=str(path.resolve()))]
    assert not found, "Move statuses with migrator.core.status.move / move_all:\n" + "\n".join(found)


def test_the_helper_is_where_the_writes_are():
    # The check above sees the helper's writes once the helper is no longer taken out: it would catch them.
    source = HELPER_FILE.read_text()
    assert len(status_writes(source, where="elsewhere.py")) == len(HELPER_FUNCTIONS)
    assert status_writes(source, where=str(HELPER_FILE)) == []


MODELS = {"Job", "BackfillRun", "JobQuerySet"}


@pytest.mark.parametrize("snippet", [
    "def f(run):\n    run.status = 'done'\n    run.save()",
    "def f(run):\n    run.status, run.reason = 'done', ''",
    "def f(pk):\n    Job.objects.filter(pk=pk).update(status='failed')",
    "def f(qs):\n    qs.update(status='failed', error='x')",
    "def f(pk):\n    Job.objects.filter(pk=pk).update(**{'status': 'failed'})",
    "def f(pk, fields):\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(pk):\n    fields = {'error': ''}\n    fields['status'] = 'failed'\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(pk):\n    fields = {'error': ''}\n    fields.update(status='failed')\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(pk, **fields):\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(run):\n    setattr(run, 'status', 'done')",
    "def f(runs):\n    BackfillRun.objects.bulk_update(runs, ['status'])",
    "class Job:\n    def finish(self):\n        self.status = 'done'",
    "def f(run: BackfillRun):\n    run.status = 'done'",
])
def test_a_direct_write_is_caught(snippet):
    assert status_writes(snippet, models=MODELS), snippet


@pytest.mark.parametrize("snippet", [
    "def f(pk):\n    Job.objects.filter(pk=pk).update(error='x')",
    "def f(pk):\n    fields = {'error': ''}\n    fields['heartbeat_at'] = 1\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(pk, status=None, **fields):\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(entry):\n    entry.update({'status': 'skipped'})",
    "def f(entry):\n    entry['status'] = 'skipped'",
    "class Refused(Exception):\n    def __init__(self, status):\n        self.status = status",
    "def f(outcome: TurnOutcome):\n    outcome.status = 'completed'",
    "def f(run):\n    return run.status == 'done'",
])
def test_what_is_not_a_status_write_passes(snippet):
    assert status_writes(snippet, models=MODELS) == [], snippet


def test_every_status_table_names_real_statuses():
    tables = [m for m in apps.get_models() if getattr(m, "STATUS_TRANSITIONS", None) is not None]
    assert {m.__name__ for m in tables} >= {"Assistant", "Flow", "Job", "ValidationRun", "CutoverRequest",
                                           "ReviewRequest", "BackfillRun", "ThreadBackfill", "Delivery", "Guard"}
    for model in tables:
        values = set(dict(model._meta.get_field(helper.field_of(model)).choices))
        table = model.STATUS_TRANSITIONS
        named = ({s for s in table} | {t for targets in table.values() for t in targets} if isinstance(table, dict)
                 else {t.source for t in table} | {t.target for t in table})
        assert named and named <= values, model


def test_every_model_with_a_status_machine_declares_its_table():
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "status"), None)
        if field is not None and field.choices:
            assert getattr(model, "STATUS_TRANSITIONS", None) is not None, (
                f"{model.__name__}.status has choices but no STATUS_TRANSITIONS table")
