"""The 50 real assistant definitions in ../shared/corpus: each converts, or is rejected with a message a user
can act on. Converted ones validate against the SDK types and the spec's CreateResponse schema."""

from __future__ import annotations

import json
from datetime import date

import pytest
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from openai.types.responses.tool_param import ToolParam
from pydantic import TypeAdapter

from migrator.prompts.conversion import convert, unwrap, validate_config
from tests.prompts.conftest import corpus_paths

# Conversion asks the one model catalogue, which merges the /models lists stored in the database.
pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)
PATHS = corpus_paths()
IDS = [p.stem for p in PATHS]
# Update bodies that carry no model: the only corpus entries that cannot be converted on their own.
EXPECTED_REJECTIONS = {"004", "018", "021", "024", "025", "037", "040"}


def _load(path):
    return json.loads(path.read_text())


@pytest.mark.usefixtures("need_shared")
def test_the_corpus_is_all_there():
    assert len(PATHS) == 50


@pytest.mark.usefixtures("need_shared")
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_each_corpus_assistant_converts_or_is_rejected_with_an_actionable_message(path, create_response_validator):
    data = _load(path)
    result = convert(data, today=TODAY)
    if path.stem in EXPECTED_REJECTIONS:
        assert not result.ok
        for error in result.errors:
            assert error.field, "every rejection names the field"
            assert len(error.message) > 20
        return
    assert result.ok, result.error_message()
    kwargs = result.kwargs
    TypeAdapter(ResponseCreateParamsNonStreaming).validate_python({**kwargs, "input": "hello"})
    for tool in kwargs.get("tools", []):
        TypeAdapter(ToolParam).validate_python(tool)
    assert validate_config(kwargs) == []
    errors = list(create_response_validator.iter_errors({**kwargs, "input": "hello"}))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:3]]


@pytest.mark.usefixtures("need_shared")
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_source_field_appears_in_the_ledger(path):
    source, _ = unwrap(_load(path))
    result = convert(_load(path), today=TODAY)
    if not result.ok:
        return
    fields = [e.field for e in result.ledger]
    for key in source:
        assert any(f == key or f.startswith((f"{key}.", f"{key}[", f"{key} ")) for f in fields), key
    for entry in result.ledger:
        assert entry.outcome in ("transferred", "changed", "needs_decision", "dropped") and entry.reason


@pytest.mark.usefixtures("need_shared")
def test_corpus_quirks_are_handled_as_documented():
    by_stem = {p.stem: convert(_load(p), today=TODAY) for p in PATHS}
    # 001: v1 retrieval → file_search, retired gpt-4-1106-preview → successor.
    assert [t["type"] for t in by_stem["001"].kwargs["tools"]] == ["file_search", "code_interpreter"]
    assert by_stem["001"].kwargs["model"] == "gpt-5.6-sol"
    # 027: default_2024_08_21 ranker mapped, null max_num_results omitted.
    fs = by_stem["027"].kwargs["tools"][0]
    assert fs["ranking_options"]["ranker"] == "auto" and "max_num_results" not in fs
    # 032: nested metadata object sent as a JSON string.
    assert by_stem["032"].kwargs["metadata"]["memory"] == '{"type":"naive"}'
    # 034: the server-specific "action" tool is dropped.
    assert "tools" not in by_stem["034"].kwargs
    # 036: flat Responses-style function kept as a function, web_search_preview needs a decision.
    types = [t["type"] for t in by_stem["036"].kwargs["tools"]]
    assert types == ["file_search", "function", "web_search_preview"]
    # 039: duplicate "type" key dropped file_search; the instructions still talk about it.
    assert any(f.code == "missing_tool" for f in by_stem["039"].findings)
    # 047: instructions call validate_local, which is not a tool.
    assert any(f.code == "missing_tool" and f.text == "validate_local" for f in by_stem["047"].findings)
    # 050: json_object with a misplaced function-level "required".
    assert by_stem["050"].kwargs["text"] == {"format": {"type": "json_object"}}
    assert any(e.field == "tools[0].function.required" and e.outcome == "dropped" for e in by_stem["050"].ledger)
    # 026: pydantic-era schemas with allOf/$defs are reviewed, not sent strict.
    assert all(not s.strict for s in by_stem["026"].schemas if not s.compatible)
