"""Property-based and fuzz tests (hypothesis) over the importer and every form: 0 unhandled errors (every
page's query parameters: tests/security/test_junk_crawl.py). Example counts are bounded so `make test` stays fast; raise them locally
with HYPOTHESIS_PROFILE=deep."""

from __future__ import annotations

import gzip
import json
import os

import pytest
from django import forms as django_forms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.core import safeinput
from migrator.inventory.archive.reader import ArchiveLimits, ArchiveReader, Header, Problem, Record

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Text that has broken things before: superscript digits, NUL, surrogates, huge numbers, deep brackets.
NASTY = st.sampled_from(["\u00b2", "9" * 25, "\x00", "-1", "0", "1e999", "NaN", "[" * 200, "{" * 200, "%", "'\"<>&",
                         "\u202e", "\ud800", " ", "", "null", "true", "1.5", "9" * 5000, "a" * 10_000])
TEXT = st.one_of(NASTY, st.text(max_size=60), st.integers().map(str))

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)
KINDS = st.sampled_from(["assistant", "thread", "thread.message", "thread.run", "thread.run.step", "vector_store",
                         "file", "migrator.thread_info", "list", "migrator.archive", "nonsense", None])


@st.composite
def api_objects(draw) -> dict:
    obj = draw(st.dictionaries(st.sampled_from(["id", "model", "instructions", "tools", "metadata", "created_at",
                                                "thread_id", "run_id", "role", "content", "status", "data",
                                                "messages", "runs", "steps", "step_details", "assistant_id"]),
                               JSON, max_size=8))
    kind = draw(KINDS)
    if kind is not None:
        obj["object"] = kind
    return obj


def _read(data: bytes, tmp_path, suffix: str) -> list:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    limits = ArchiveLimits(max_depth=16, max_string_chars=5_000, max_objects=500)
    items = list(ArchiveReader(path, limits=limits))
    assert all(isinstance(item, Record | Problem | Header) for item in items)
    return items


@pytest.mark.slow  # a fuzzer: a hundred generated archives per run
@given(objects=st.lists(api_objects(), max_size=6), garbage=st.lists(st.binary(max_size=40), max_size=2),
       gz=st.booleans())
def test_archive_reader_never_raises_on_jsonl(tmp_path_factory, objects, garbage, gz):
    tmp_path = tmp_path_factory.mktemp("jsonl")
    lines = [json.dumps(o).encode() for o in objects] + list(garbage)
    data = b"\n".join(lines) + b"\n"
    if gz:
        data = gzip.compress(data)
    items = _read(data, tmp_path, ".jsonl")
    records = [i for i in items if isinstance(i, Record)]
    assert len(records) <= sum(1 for _ in objects) * 50 + 1


@pytest.mark.slow  # a fuzzer: a hundred generated archives per run
@given(document=st.one_of(st.dictionaries(st.sampled_from(["assistants", "threads", "messages", "runs", "steps",
                                                            "data", "thread_ids", "format_version", "x"]),
                                           st.lists(api_objects(), max_size=4) | JSON, max_size=5),
                          st.lists(api_objects(), max_size=5)),
       cut=st.integers(min_value=0, max_value=400))
def test_archive_reader_never_raises_on_documents(tmp_path_factory, document, cut):
    tmp_path = tmp_path_factory.mktemp("doc")
    data = json.dumps(document).encode()
    _read(data, tmp_path, ".json")
    _read(data[: max(1, len(data) - cut)], tmp_path, ".json")  # truncated anywhere


@given(data=st.binary(min_size=1, max_size=300))
def test_archive_reader_never_raises_on_bytes(tmp_path_factory, data):
    _read(data, tmp_path_factory.mktemp("bytes"), ".json")


@pytest.mark.django_db
@settings(max_examples=15)
@given(objects=st.lists(api_objects(), min_size=1, max_size=5))
def test_import_never_half_writes_or_raises(tmp_path_factory, engineer, objects):
    from migrator.inventory.services.imports import import_archive

    path = tmp_path_factory.mktemp("imp") / "a.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in objects) + "\n")
    report = import_archive(path=path, actor=engineer)
    as_dict = report.to_dict()
    assert isinstance(as_dict["errors"], list)
    json.dumps(as_dict)  # the job result must be storable


@given(value=JSON)
def test_bounded_json_round_trips_what_it_accepts(value):
    text = json.dumps(value)
    try:
        parsed = safeinput.loads(text)
    except safeinput.JSONRefused:
        return
    assert parsed == value or json.dumps(parsed) == text


@given(raw=TEXT)
def test_parse_int_never_raises_and_stays_in_range(raw):
    value = safeinput.parse_int(raw)
    assert value is None or 0 <= value < 2**63


# --- every form ------------------------------------------------------------------------------------------------

def _form_classes() -> list[type[django_forms.Form]]:
    import importlib
    import pkgutil

    import migrator

    found = []
    modules = []
    for info in pkgutil.iter_modules(migrator.__path__):
        if info.ispkg and info.name != "sandbox":
            try:
                modules.append(importlib.import_module(f"migrator.{info.name}.forms"))
            except ModuleNotFoundError:
                continue
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, django_forms.BaseForm) and value.__module__ == \
                    module.__name__:
                found.append(value)
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", _form_classes(), ids=lambda c: c.__name__)
def test_every_form_validates_any_input_without_raising(form_class, admin_user):
    field_names = list(form_class.base_fields)

    @settings(max_examples=25)
    @given(values=st.fixed_dictionaries({name: st.one_of(TEXT, st.lists(TEXT, max_size=3)) for name in field_names}))
    def check(values):
        from django.utils.datastructures import MultiValueDict

        data = MultiValueDict({k: (v if isinstance(v, list) else [v]) for k, v in values.items()})
        kwargs = {"user": admin_user} if "user" in form_class.__init__.__code__.co_varnames else {}
        form = form_class(data=data, **kwargs)
        form.is_valid()
        str(form.errors)

    check()

# Every query parameter of every page: tests/security/test_junk_crawl.py (derived from the URL resolver).
