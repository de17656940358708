"""Statuses move through core's transition helper only (``migrator.core.status.move`` / ``move_all``).

The test reads every module under ``migrator/`` (its syntax, not its behaviour) and fails on any other write of
the field a model's table moves: every model that declares ``STATUS_TRANSITIONS``, with its ``STATUS_FIELD``
(``status`` unless it names another, e.g. the rollout guard's ``state``). The writes it knows are
``obj.status = …``, ``setattr(obj, "status", …)``, ``….update(status=…)``, ``….update(**fields)`` where
``fields`` may hold a status, ``bulk_update(…, ["status"])`` and ``update_or_create(defaults={"status": …})``.
The helper's own two functions are the writes everything else goes through. Migrations are not read: each runs
once, against the historical models of its time, and may not import live code such as the helper.

Creating a row is not a move, but it may not skip one either. **A row is created at its table's first state,
the field's default** (``Job.objects.create(…)``, ``Guard(…, state=GuardState.WATCHING)``, and the same through
``get_or_create``/``update_or_create`` defaults used on creation); any other status it reaches through the
helper, so the table says how it got there. The one exception is a model whose table allows no move at all
(``ToolTestResult``): its rows are verdicts, written once at the status they report, so any status is a
legitimate creation. A status value counts as the first state when the code says so plainly: the literal value,
or the enum member whose value it is (``JobStatus.QUEUED``, ``G.WATCHING``). On a receiver the test cannot name
(``run.jobs.create(…)``, ``model.objects.get_or_create(…)``), it flags only a status named by a machine's enum
member: a plain string there may be a copy of a legacy object's status (inventory), which is data, not a machine.

Where a write is plainly not to a model the rule lets it be, by what the code says rather than by a list:
``self.status`` in a class that is not a model with that field, an attribute of a parameter annotated with a
class that is not, calls rooted at a model without a table (``ToolResourceCheck``, see below) and dict updates
written with a dict argument (``d.update({"status": …})``; ``QuerySet.update`` takes keywords only).

Two choices fields look like statuses but are not machines, and declare no table:
``ToolResourceCheck.state`` is the last thing a probe saw of a resource outside (a vector store, a file); any
state may follow any other and the newest probe wins, so there is no move to check and nothing to compare and
set. ``AutopilotMove.action`` is what the autopilot's last pass did for a flow, recomputed from the world on
every pass, likewise any to any.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

import migrator
from migrator.core import status as helper

ROOT = Path(migrator.__file__).parent
HELPER_FILE = Path(inspect.getsourcefile(helper)).resolve()
HELPER_FUNCTIONS = frozenset({helper.move.__name__, helper.move_all.__name__})
CREATES = frozenset({"create", "get_or_create", "update_or_create"})
# Choices fields named like a status that are observations, not machines (the module docstring says why).
OBSERVED = {"ToolResourceCheck": "state"}


@dataclass(frozen=True)
class Machine:
    """What the test knows of one model's status machine."""

    field: str  # the field its table moves
    created_at: frozenset[str]  # the statuses a row may be created at
    members: Mapping[str, str]  # its choices enum's member names → values ("QUEUED" → "queued")
    enums: frozenset[str]  # the names of that enum class ("JobStatus")
    verdicts: bool = False  # the table allows no move: a row is created at any status

    def value(self, node: ast.AST) -> str | None:
        """The status ``node`` plainly names (None: computed)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Attribute):
            return self.members.get(node.attr)
        return None

    def may_create(self, node: ast.AST) -> bool:
        return self.verdicts or self.value(node) in self.created_at


Machines = Mapping[str, tuple[Machine, ...]]


def _enums(values: set[str]) -> tuple[dict[str, str], frozenset[str]]:
    """Member names (→ values) and class names of every choices enum with exactly these values."""
    members: dict[str, str] = {}
    names: set[str] = set()
    stack: list[type] = [models.Choices]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if {str(v) for v in getattr(cls, "values", [])} == values:
            members.update({m.name: str(m.value) for m in cls})
            names.add(cls.__name__)
    return members, frozenset(names)


def _status_models() -> dict[str, tuple[Machine, ...]]:
    """Class names of the models that declare a table, and of their querysets, with their machines."""
    found: dict[str, list[Machine]] = {}
    for model in apps.get_models():
        table = getattr(model, "STATUS_TRANSITIONS", None)
        if table is None:
            continue
        fld = model._meta.get_field(helper.field_of(model))
        values = {str(v) for v, _ in fld.choices or ()}
        verdicts = not any(helper.targets_of(table, s) for s in values)
        created = frozenset({str(fld.default)}) if fld.has_default() else frozenset()
        machine = Machine(fld.name, created, *_enums(values), verdicts)
        for name in (model.__name__, type(model._default_manager.get_queryset()).__name__):
            found.setdefault(name, []).append(machine)
    return {name: tuple(ms) for name, ms in found.items()}


def _plain_models(machines: Machines) -> frozenset[str]:
    """Models without a table: a call rooted at one of them writes no machine."""
    return frozenset(m.__name__ for m in apps.get_models()) - set(machines)


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
    def __init__(self, tree: ast.Module, models: Machines, where: str, plain: frozenset[str] = frozenset()) -> None:
        self.models = models
        self.plain = plain
        self.fields = frozenset(m.field for ms in models.values() for m in ms)
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

    def fields_of(self, name: str) -> frozenset[str]:
        return frozenset(m.field for m in self.models.get(name, ()))

    def fields_at(self, receiver: ast.AST) -> frozenset[str]:
        """The status fields a call on ``receiver`` may write: its model's when the chain names one, else all."""
        root = _root(receiver)
        return self.fields_of(root) if root in self.models else self.fields

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
            if (isinstance(sub, ast.Attribute) and sub.attr in self.fields and isinstance(sub.ctx, ast.Store)
                    and not self._not_a_model(sub.value, sub.attr)):
                self.flag(node, f"{ast.unparse(sub)} = …")

    def _not_a_model(self, receiver: ast.AST, attr: str) -> bool:
        """Whether the code says ``receiver`` is of a class whose ``attr`` no table moves."""
        if not isinstance(receiver, ast.Name) or not self.functions:
            return False
        function = self.functions[-1]
        if receiver.id == "self":
            return bool(self.classes) and attr not in self.fields_of(self.classes[-1])
        args = function.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == receiver.id and arg.annotation is not None:
                name = _last_name(arg.annotation)
                return bool(name) and attr not in self.fields_of(name) and name not in ("Model", "Any")
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
            if isinstance(name, ast.Constant) and name.value in self.fields:
                self.flag(node, f"{ast.unparse(node)[:80]}")
        if isinstance(func, ast.Attribute) and func.attr == "update" and not node.args:
            fields = self.fields_at(func.value)
            for keyword in node.keywords:
                if keyword.arg in fields:
                    self.flag(node, f"….update({keyword.arg}=…): {ast.unparse(node)[:80]}")
                elif keyword.arg is None and not self._status_free(keyword.value, fields):
                    self.flag(node, f"….update(**…) that may set a status: {ast.unparse(node)[:80]}")
        if isinstance(func, ast.Attribute) and func.attr == "bulk_update":
            fields = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "fields"), None)
            names = self._field_names(fields)
            if (names or set()) & self.fields_at(func.value) or (names is None and _root(func.value) in self.models):
                self.flag(node, f"bulk_update that may set a status: {ast.unparse(node)[:80]}")
        self._creation(node)
        self.generic_visit(node)

    # --- creation -----------------------------------------------------------------------------------------------

    def _creation(self, node: ast.Call) -> None:
        """``Model.objects.create/get_or_create/update_or_create(…)`` and ``Model(…)``: created at the first
        state (or a verdict model); ``update_or_create``'s ``defaults`` write a row that exists, so never hold a
        status."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in CREATES:
            root, kind = _root(func.value), func.attr
        elif _last_name(func) in self.models and isinstance(func, ast.Name | ast.Attribute):
            root, kind = _last_name(func), "new"
        else:
            return
        if root in self.plain:
            return  # a model with no table: nothing of it is a machine
        known = root in self.models
        machines = self.models[root] if known else tuple(m for ms in self.models.values() for m in ms)
        fields = frozenset(m.field for m in machines)
        for keyword in node.keywords:
            if keyword.arg in fields:
                self._created(node, keyword.arg, keyword.value, machines, known)
            elif keyword.arg is None and known and not self._status_free(keyword.value, fields):
                self.flag(node, f"created with **… that may set a status: {ast.unparse(node)[:80]}")
            elif keyword.arg in ("defaults", "create_defaults") and kind != "new":
                update = keyword.arg == "defaults" and kind == "update_or_create"
                self._defaults(node, keyword.value, machines, fields, known, update)

    def _defaults(self, node: ast.Call, value: ast.AST, machines: tuple[Machine, ...], fields: frozenset[str],
                  known: bool, update: bool) -> None:
        if not isinstance(value, ast.Dict) or _constant_keys(value) is None:
            if known and not self._status_free(value, fields):
                self.flag(node, f"defaults that may set a status: {ast.unparse(node)[:80]}")
            return
        for key, item in zip(value.keys, value.values, strict=True):
            name = key.value if isinstance(key, ast.Constant) else ""
            if name not in fields:
                continue
            named = any(isinstance(item, ast.Attribute) and item.attr in m.members for m in machines)
            if update and (known or named):
                self.flag(node, f"update_or_create(defaults={{{name!r}: …}}) moves a row that exists: "
                                f"{ast.unparse(node)[:80]}")
            elif not update:
                self._created(node, name, item, machines, known)

    def _created(self, node: ast.Call, name: str, value: ast.AST, machines: tuple[Machine, ...],
                 known: bool) -> None:
        mine = [m for m in machines if m.field == name]
        if not known:
            # A receiver the code does not name: only a machine's own enum member says it is one, and the enum's
            # name, where it is written, says which (JobStatus.FAILED is not ToolTestStatus.FAILED).
            mine = [m for m in mine if isinstance(value, ast.Attribute) and value.attr in m.members]
            prefix = _last_name(value.value) if isinstance(value, ast.Attribute) else ""
            if any(prefix in m.enums for m in mine):
                mine = [m for m in mine if prefix in m.enums]
        if mine and not any(m.may_create(value) for m in mine):
            self.flag(node, f"created at {name}={ast.unparse(value)[:40]}, not its table's first state: "
                            f"{ast.unparse(node)[:80]}")

    # --- what a ``**`` may hold ---------------------------------------------------------------------------------

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

    def _status_free(self, value: ast.AST, fields: frozenset[str]) -> bool:
        """Whether ``**value`` provably holds none of ``fields``."""
        if isinstance(value, ast.Dict):
            keys = _constant_keys(value)
            return keys is not None and not keys & fields
        if isinstance(value, ast.DictComp):
            key, loop = value.key, value.generators[0]
            if isinstance(key, ast.Subscript):  # {COLUMNS[k]: … for …}: the keys are a constant dict's values
                keys = self.constant_dicts.get(_last_name(key.value))
                return keys is not None and not keys & fields
            if (isinstance(key, ast.Name) and isinstance(loop.target, ast.Name) and key.id == loop.target.id
                    and isinstance(loop.iter, ast.Name)):  # {f: … for f in FIELDS}
                keys = self.constant_lists.get(loop.iter.id)
                return keys is not None and not keys & fields
            return False
        if isinstance(value, ast.Name) and self.functions:
            return self._name_status_free(value.id, self.functions[-1], fields)
        return False

    def _name_status_free(self, name: str, function: ast.FunctionDef | ast.AsyncFunctionDef,
                          fields: frozenset[str]) -> bool:
        args = function.args
        named = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        if name in named:
            return False  # a dict handed in: anything may be in it
        if args.kwarg is not None and args.kwarg.arg == name:
            return fields <= named  # **fields beside an explicit status parameter cannot hold a status
        writes = [w for node in ast.walk(function) for w in self._writes_to(name, node, fields)]
        return bool(writes) and all(writes)

    def _writes_to(self, name: str, node: ast.AST, fields: frozenset[str]) -> list[bool]:
        """One entry per write to dict ``name`` in ``node``: whether that write provably adds no status."""
        if isinstance(node, ast.Assign | ast.AnnAssign):
            out = []
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name) and target.id == name:
                    out.append(isinstance(node.value, ast.Dict) and not self._dict_has_status(node.value, fields))
                elif isinstance(target, ast.Subscript) and _last_name(target.value) == name:
                    out.append(isinstance(target.slice, ast.Constant) and target.slice.value not in fields)
            return out
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name
                and node.func.attr in ("update", "setdefault")):
            return []
        if any(k.arg is None or k.arg in fields for k in node.keywords):
            return [False]
        first = node.args[0] if node.args else None
        if node.func.attr == "update":
            return [first is None or (isinstance(first, ast.Dict) and not self._dict_has_status(first, fields))]
        return [isinstance(first, ast.Constant) and first.value not in fields]

    @staticmethod
    def _dict_has_status(node: ast.Dict, fields: frozenset[str]) -> bool:
        keys = _constant_keys(node)
        return keys is None or bool(keys & fields)


def status_writes(source: str, *, where: str = "<snippet>", models: Machines | None = None,
                  plain: frozenset[str] | None = None) -> list[str]:
    """Every direct write of a status field in ``source`` (the helper's own functions in its module left out)."""
    tree = ast.parse(source)
    if where == str(HELPER_FILE):
        tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name in HELPER_FUNCTIONS)]
    machines = _status_models() if models is None else models
    if plain is None:
        plain = _plain_models(machines) if models is None else frozenset()
    checker = _Checker(tree, machines, where, plain)
    checker.visit(tree)
    return checker.found


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.relative_to(ROOT).parts)


def test_no_module_writes_a_status_outside_the_transition_helper():
    machines = _status_models()
    plain = _plain_models(machines)
    found = [w for path in _modules()
             for w in status_writes(path.read_text(), where=str(path.resolve()), models=machines, plain=plain)]
    assert not found, "Move statuses with migrator.core.status.move / move_all:\n" + "\n".join(found)


def test_the_helper_is_where_the_writes_are():
    # The check above sees the helper's writes once the helper is no longer taken out: it would catch them.
    source = HELPER_FILE.read_text()
    assert len(status_writes(source, where="elsewhere.py")) == len(HELPER_FUNCTIONS)
    assert status_writes(source, where=str(HELPER_FILE)) == []


def _machine(name: str, enum: str, initial: str, *others: str, verdicts: bool = False) -> Machine:
    members = {v.upper(): v for v in (initial, *others)}
    return Machine(name, frozenset() if verdicts else frozenset({initial}), members, frozenset({enum}), verdicts)


JOB = _machine("status", "JobStatus", "queued", "running", "failed")
GUARD = _machine("state", "GuardState", "watching", "healthy", "paused")
VERDICT = _machine("status", "ToolTestStatus", "passed", "failed", verdicts=True)
MODELS: Machines = {"Job": (JOB,), "JobQuerySet": (JOB,), "Guard": (GUARD,), "ToolTestResult": (VERDICT,),
                    "BackfillRun": (_machine("status", "RunStatus", "planned", "done"),)}
PLAIN = frozenset({"ToolResourceCheck"})


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
    # A model that names its own field (Guard.STATUS_FIELD = "state"): the same writes, by that name.
    "def f(guard):\n    guard.state = 'paused'",
    "def f(guard):\n    guard.state, guard.metric = GuardState.PAUSED, ''",
    "def f(pk):\n    Guard.objects.filter(pk=pk).update(state='paused')",
    "def f(guard):\n    setattr(guard, 'state', 'paused')",
    "def f(guards):\n    Guard.objects.bulk_update(guards, ['state', 'metric'])",
    "def f(pk, status=None, **fields):\n    Guard.objects.filter(pk=pk).update(**fields)",
    "class Guard:\n    def stop(self):\n        self.state = 'paused'",
    "def f(guard: Guard):\n    guard.state = 'paused'",
    # Created anywhere but at the table's first state.
    "def f(flow):\n    Guard.objects.create(flow=flow, state=GuardState.PAUSED)",
    "def f(flow):\n    Guard.objects.create(flow=flow, state='paused')",
    "def f(flow, state):\n    Guard.objects.create(flow=flow, state=state)",
    "def f(flow):\n    Guard(flow=flow, state=G.PAUSED).save()",
    "def f(flow):\n    g = models.Guard(flow=flow, state=G.PAUSED)",
    "def f():\n    Job.objects.bulk_create([Job(status=JobStatus.RUNNING)])",
    "def f(flow):\n    Guard.objects.get_or_create(flow=flow, defaults={'state': 'paused'})",
    "def f(flow):\n    Guard.objects.get_or_create(flow=flow, state='paused')",
    "def f(flow, d):\n    Guard.objects.create(flow=flow, **d)",
    "def f(flow, d):\n    Guard.objects.get_or_create(flow=flow, defaults=d)",
    "def f(run):\n    run.jobs.create(status=JobStatus.RUNNING)",
    # update_or_create's defaults move the row when it exists: even to the first state, that is a move.
    "def f(flow):\n    Guard.objects.update_or_create(flow=flow, defaults={'state': 'watching'})",
    "def f(flow):\n    Job.objects.update_or_create(pk=1, create_defaults={'status': 'running'})",
])
def test_a_direct_write_is_caught(snippet):
    assert status_writes(snippet, models=MODELS, plain=PLAIN), snippet


@pytest.mark.parametrize("snippet", [
    "def f(pk):\n    Job.objects.filter(pk=pk).update(error='x')",
    "def f(pk):\n    fields = {'error': ''}\n    fields['heartbeat_at'] = 1\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(pk, status=None, **fields):\n    Job.objects.filter(pk=pk).update(**fields)",
    "def f(entry):\n    entry.update({'status': 'skipped'})",
    "def f(entry):\n    entry['status'] = 'skipped'",
    "class Refused(Exception):\n    def __init__(self, status):\n        self.status = status",
    "def f(outcome: TurnOutcome):\n    outcome.status = 'completed'",
    "def f(run):\n    return run.status == 'done'",
    "class Config:\n    def __init__(self, state):\n        self.state = state",
    "def f(check: ToolResourceCheck):\n    check.state = 'missing'",
    "def f(job: Job):\n    job.state = 'x'",  # Job's table moves status, not state
    # Created at the first state, or a verdict at the status it reports.
    "def f(flow):\n    Guard.objects.create(flow=flow)",
    "def f(flow):\n    Guard.objects.create(flow=flow, state=GuardState.WATCHING)",
    "def f():\n    Job.objects.bulk_create([Job(status='queued'), Job()])",
    "def f(flow):\n    Guard.objects.get_or_create(flow=flow, defaults={'state': G.WATCHING, 'metric': ''})",
    "def f(flow):\n    fields = {'min_sample': 10}\n    Guard.objects.create(flow=flow, **fields)",
    "def f(flow):\n    Guard.objects.create(flow=flow, **{k: 1 for k in LIMITS})\nLIMITS = ('min_sample',)",
    "def f(v):\n    ToolTestResult.objects.create(status=v.status, summary=v.summary)",
    "def f(c):\n    ToolResourceCheck.objects.update_or_create(pk=1, defaults={'state': c})",
    "def f(model):\n    model.objects.get_or_create(legacy_id=1, defaults={'status': 'missing'})",
    "def f(r):\n    return RunData(status=r.status)",
    "def f(a):\n    a.tool_tests.create(status=ToolTestStatus.FAILED)",
])
def test_what_is_not_a_status_write_passes(snippet):
    assert status_writes(snippet, models=MODELS, plain=PLAIN) == [], snippet


def _tables() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if getattr(m, "STATUS_TRANSITIONS", None) is not None]


def test_every_model_with_a_table_is_checked_by_its_own_field():
    # Each model that declares a table, read by the real machines: a direct write of its field, an update and a
    # creation past its first state are caught, whatever the field is called.
    machines = _status_models()
    for model in _tables():
        name, fld = model.__name__, helper.field_of(model)
        later = next((str(v) for v, _ in model._meta.get_field(fld).choices if str(v) not in
                      machines[name][0].created_at), None)
        writes = [f"def f(obj: {name}):\n    obj.{fld} = 'x'",
                  f"def f(pk):\n    {name}.objects.filter(pk=pk).update({fld}='x')"]
        if not machines[name][0].verdicts and later is not None:
            writes.append(f"def f():\n    {name}.objects.create({fld}={later!r})")
        for snippet in writes:
            assert status_writes(snippet), snippet


def test_every_status_table_names_real_statuses():
    tables = _tables()
    assert {m.__name__ for m in tables} >= {"Assistant", "Flow", "Job", "ValidationRun", "CutoverRequest",
                                           "ReviewRequest", "BackfillRun", "ThreadBackfill", "Delivery", "Guard"}
    for model in tables:
        values = set(dict(model._meta.get_field(helper.field_of(model)).choices))
        table = model.STATUS_TRANSITIONS
        named = ({s for s in table} | {t for targets in table.values() for t in targets} if isinstance(table, dict)
                 else {t.source for t in table} | {t.target for t in table})
        assert named and named <= values, model


def test_every_model_with_a_status_machine_declares_its_table():
    # A choices field named status or state is a machine, unless it is one of the observations the module
    # docstring names.
    for model in apps.get_models():
        for fld in model._meta.concrete_fields:
            if fld.name in ("status", "state") and fld.choices and OBSERVED.get(model.__name__) != fld.name:
                assert getattr(model, "STATUS_TRANSITIONS", None) is not None, (
                    f"{model.__name__}.{fld.name} has choices but no STATUS_TRANSITIONS table")
                assert helper.field_of(model) == fld.name, f"{model.__name__}: STATUS_FIELD = {fld.name!r}"
