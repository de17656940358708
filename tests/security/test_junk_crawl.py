"""The junk-input crawl: every URL pattern the resolver knows answers junk with a page or a 4xx, never a 5xx.

Nothing here is a hand list. The patterns come from the URL resolver, the query and form parameter names from
what the code reads (``request.GET.get("x")``, form fields), and the objects behind ``<int:...>`` path
converters from every model in the project, each given the same primary key so that any ``<int:pk>`` finds a
real row of whatever model its view looks up. A new app, page or parameter is crawled without anyone listing it.

PostgreSQL refuses NUL bytes in text and SQLite overflows on integers beyond 64 bits, so the crawl is telling on
both back ends.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django import forms as django_forms
from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter

import migrator

pytestmark = pytest.mark.django_db

ROOT = Path(migrator.__file__).parent
SEED_PK = 7  # every seeded row has this primary key, so any <int:pk> finds a row
SEED_SLUG = "fuzz-flow"

# Junk that has broken things before: superscript digits (``"²".isdigit()`` is true, ``int("²")`` fails),
# integers beyond a bigint, NUL (PostgreSQL refuses it in text), NaN/inf (``float()`` takes them, JSON does not).
JUNK_VALUES = ["\u00b2", "9" * 25, "a\x00b", "NaN", "1e999", "-1", "[" * 50, "x" * 3000]
JUNK_PATH = {IntConverter: ["99999999999999999999"], SlugConverter: ["a" * 300], StringConverter: ["\u00b2"],
             PathConverter: ["\u00b2"], UUIDConverter: ["00000000-0000-0000-0000-000000000000"]}
# Good values for string path arguments, by argument name (an unknown name gets "x" and the junk).
GOOD_STR = {"slug": SEED_SLUG, "key": "function:f", "action": "pause", "fmt": "csv", "thread_id": "thread_fuzz",
            "object_id": str(SEED_PK), "content_type_id": "1", "app_label": "core"}
_PARAM_READ = re.compile(r"""(?:GET|POST|query_params|data)\.(?:get|getlist)\(\s*["']([A-Za-z_][\w-]*)["']""")
_PARAM_INDEX = re.compile(r"""(?:GET|POST)\[\s*["']([A-Za-z_][\w-]*)["']\s*\]""")


@dataclass(frozen=True)
class Route:
    name: str
    regex: str  # the route as the resolver spells it, for messages
    parts: tuple[tuple[str, object], ...]  # ("text", "literal") or ("arg", (name, converter))


def _routes(resolver: URLResolver | None = None, prefix: tuple = (), namespace: str = "") -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        here = (*prefix, *_pattern_parts(pattern))
        if isinstance(entry, URLResolver):
            ns = ":".join(x for x in (namespace, entry.namespace or "") if x)
            yield from _routes(entry, here, ns)
        elif isinstance(entry, URLPattern):
            name = ":".join(x for x in (namespace, entry.name or "") if x) or str(pattern)
            yield Route(name=name, regex="".join(str(p[1]) if p[0] == "text" else f"<{p[1][0]}>" for p in here),
                        parts=here)


def _pattern_parts(pattern) -> list[tuple[str, object]]:
    """Split a route (``runs/<int:pk>/``) or a regex (``^(?P<app_label>a|b)/$``) into literals and arguments."""
    converters = getattr(pattern, "converters", {})
    if hasattr(pattern, "_route"):
        parts: list[tuple[str, object]] = []
        for i, piece in enumerate(re.split(r"<(?:\w+:)?(\w+)>", pattern._route)):
            if i % 2:
                parts.append(("arg", (piece, converters.get(piece, StringConverter()))))
            elif piece:
                parts.append(("text", piece))
        return parts
    # A regex pattern: keep its literal text, turn each named group into a string argument.
    text = str(pattern).lstrip("^").rstrip("$")
    parts = []
    for i, piece in enumerate(re.split(r"\(\?P<(\w+)>[^)]*\)", text)):
        if i % 2:
            parts.append(("arg", (piece, StringConverter())))
        elif piece:
            parts.append(("text", piece.replace("\\", "")))
    return parts


def _build(route: Route, junk_arg: str | None = None, junk_value: str = "") -> str:
    out = []
    for kind, value in route.parts:
        if kind == "text":
            out.append(value)
            continue
        name, converter = value
        if name == junk_arg:
            out.append(quote(junk_value, safe=""))
        elif isinstance(converter, IntConverter):
            out.append(str(SEED_PK))
        else:
            out.append(quote(GOOD_STR.get(name, "x"), safe=":"))
    return "/" + "".join(out)


def _parameter_names() -> list[str]:
    """Every parameter name the code reads from a request, and every form field name."""
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        text = path.read_text()
        names.update(_PARAM_READ.findall(text))
        names.update(_PARAM_INDEX.findall(text))
    for form_class in _form_classes():
        names.update(form_class.base_fields)
    return sorted(names)


def _form_classes() -> list[type[django_forms.BaseForm]]:
    import importlib

    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("migrator."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.forms")
        except ModuleNotFoundError:
            continue
        found += [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, django_forms.BaseForm)
                  and v.__module__ == module.__name__]
    return found


# --- one row of every model, each with primary key SEED_PK ----------------------------------------------------

def _value_for(field: models.Field, model: type[models.Model]):
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.SlugField):
        return SEED_SLUG
    if isinstance(field, models.EmailField):
        return "fuzz@example.com"
    if isinstance(field, models.URLField):
        return "http://127.0.0.1:9/hook"  # refused at once: no request leaves the machine
    if isinstance(field, models.CharField | models.TextField):
        text = f"fuzz-{model._meta.model_name}-{field.name}"
        return text[: field.max_length] if field.max_length else text
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DecimalField):
        return Decimal("1")
    if isinstance(field, models.IntegerField | models.FloatField):
        return 1
    if isinstance(field, models.DateTimeField):
        return datetime.datetime.now(datetime.UTC)
    if isinstance(field, models.DateField):
        return datetime.date.today()
    if isinstance(field, models.DurationField):
        return datetime.timedelta(seconds=1)
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"fuzz"
    if isinstance(field, models.FileField):
        return "fuzz.txt"
    return None


def _seed_models() -> list[str]:
    """One row of every concrete model of the project (and the auth user), each at primary key SEED_PK, its
    foreign keys pointing at the others. Returns the models that could not be seeded (their constraints want
    more than generic values); their pages are still crawled, with a 404 behind them."""
    wanted = [m for m in apps.get_models() if m._meta.app_label in {c.label for c in apps.get_app_configs()
                                                                    if c.name.startswith("migrator.")}
              and not m._meta.proxy and m._meta.managed]
    wanted.append(apps.get_model("auth", "User"))
    done: set[type[models.Model]] = set()
    failed: list[str] = []
    for _ in range(len(wanted)):  # dependency order without computing it: retry until nothing moves
        progress = False
        for model in wanted:
            if model in done:
                continue
            targets = [f.related_model for f in model._meta.concrete_fields
                       if f.is_relation and not f.null and f.related_model is not model]
            if any(t in wanted and t not in done for t in targets):
                continue
            if _seed_one(model):
                done.add(model)
                progress = True
            else:
                failed.append(model._meta.label)
                done.add(model)
        if not progress:
            break
    # Rows inserted with an explicit primary key leave PostgreSQL's sequences behind: the next ordinary insert
    # (an audit event of a crawled POST) would take pk SEED_PK again and fail as a duplicate.
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), list(done))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return failed


def _seed_one(model: type[models.Model]) -> bool:
    values: dict = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            values[field.attname] = SEED_PK if isinstance(field, models.AutoField | models.IntegerField) \
                else _value_for(field, model)
        elif field.is_relation:
            target = field.related_model
            if target.objects.filter(pk=SEED_PK).exists():
                values[field.attname] = SEED_PK
        elif field.has_default() or (field.null and not field.choices) or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        else:
            values[field.attname] = _value_for(field, model)
    if model._meta.label == "auth.User":
        values.update(username="fuzzer", is_staff=True, is_superuser=True)
    try:
        with transaction.atomic():
            model.objects.create(**values)
    except (IntegrityError, ValueError, TypeError):
        return False
    return True


# --- the crawl ------------------------------------------------------------------------------------------------

def _check(client, method: str, url: str, data: dict, *, htmx: bool = False) -> list[tuple[str, int]]:
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = getattr(client, method)(url, data, **extra)
    if response.status_code >= 500 and response.status_code != 286:  # 286: htmx "stop polling"
        shown = sorted({repr(v)[:12] for v in data.values()})
        return [(f"{method.upper()} {url} with {shown}{' (htmx)' if htmx else ''}", response.status_code)]
    return []


def _rotated(names: list[str], shift: int) -> dict[str, str]:
    """Each parameter gets a different junk value, so three requests give every parameter three kinds of junk."""
    return {name: JUNK_VALUES[(i + shift) % len(JUNK_VALUES)] for i, name in enumerate(names)}


@pytest.mark.slow  # exhaustive: every URL pattern, three kinds of junk each
def test_every_url_pattern_answers_junk_without_a_5xx(client, admin_user):
    failed_models = _seed_models()
    assert not failed_models or len(failed_models) < 8, failed_models  # most models seed: the crawl sees real rows
    routes = list(_routes())
    assert len(routes) > 100  # the resolver, not a hand list
    names = _parameter_names()
    assert {"flow", "run", "connection", "reviewer", "page"} <= set(names) or len(names) > 40
    client.force_login(admin_user)
    client.raise_request_exception = False  # collect every 5xx, not just the first

    problems: list[tuple[str, int]] = []
    for route in routes:
        if "_auth_user_id" not in client.session:  # the logout pattern logs the crawler out
            client.force_login(admin_user)
        arguments = [value for kind, value in route.parts if kind == "arg"]
        if route.name.startswith("admin:"):
            # Django's own admin: each pattern once, junk in its first path argument (its queries are Django's).
            if arguments:
                name, converter = arguments[0]
                problems += _check(client, "get", _build(route, name, JUNK_PATH[type(converter)][0]), {})
            else:
                problems += _check(client, "get", _build(route), {})
            continue
        url = _build(route)
        # Three requests: every parameter as "²" (the classic), then each with other junk (htmx asking), then
        # a POST with junk in every field.
        problems += _check(client, "get", url, {name: JUNK_VALUES[0] for name in names})
        problems += _check(client, "get", url, _rotated(names, 1), htmx=True)
        problems += _check(client, "post", url, _rotated(names, 2))
        for name, converter in arguments:
            problems += _check(client, "get", _build(route, name, JUNK_PATH[type(converter)][0]), {})
    assert not problems, f"{len(problems)} answers of 5xx:\n" + "\n".join(f"{status} {where}" for where, status in problems)


def test_a_malformed_number_in_the_query_is_a_400_naming_the_parameter(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/validation/new/", {"flow": "\u00b2"})
    assert response.status_code == 400
    assert "flow: &#x27;²&#x27; is not a number" in response.content.decode()
    assert client.get("/validation/new/", {"flow": ""}).status_code == 200  # absent or empty: the blank form


def test_param_int_reads_ascii_digits_and_names_the_parameter_otherwise():
    from django.http import QueryDict

    from migrator.core.safeinput import MalformedNumber, param_int, param_ints

    params = QueryDict("a=12&b=%C2%B2&c=&d=" + "9" * 25 + "&e=1&e=2&e=")
    assert param_int(params, "a") == 12 and param_int(params, "c") is None and param_int(params, "zz") is None
    for name in ("b", "d"):
        with pytest.raises(MalformedNumber, match=f"^{name}: "):
            param_int(params, name)
    assert param_ints(params, "e") == [1, 2]
    with pytest.raises(MalformedNumber):
        param_ints(QueryDict("e=1&e=x"), "e")
