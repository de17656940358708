"""Pure logic: sample generation, the mode recommendation, tool identity, ETags, code generation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from migrator.core.status import FlowMode
from migrator.cutover.serving import compute_etag, etag_matches
from migrator.flows import toolset
from migrator.flows.codegen import python_name, tool_loop
from migrator.flows.models import ResourceState
from migrator.flows.recommend import ThreadStat, percentile, recommend
from migrator.flows.samples import _from_pattern, sample_for, validation_errors
from migrator.flows.tooltest import classify_vector_store

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def stat(turns: int, tokens: int = 500, days: float = 0.1) -> ThreadStat:
    return ThreadStat(turns, tokens, T0, T0 + timedelta(days=days))


# --- samples ------------------------------------------------------------------------------------------------

SCHEMAS = [
    {"type": "object", "properties": {"invoice_id": {"type": "string", "pattern": "^INV-[0-9]{6}$"}},
     "required": ["invoice_id"]},
    {"type": "object", "properties": {"bin": {"allOf": [{"$ref": "#/$defs/Bin"}]}}, "required": ["bin"],
     "$defs": {"Bin": {"type": "string", "pattern": "^[A-Z][0-9]{2}$"}}},
    {"type": "object", "properties": {"qty": {"type": "integer", "minimum": 5, "maximum": 9, "multipleOf": 3},
                                      "price": {"type": "number", "exclusiveMinimum": 0},
                                      "until": {"type": ["string", "null"], "format": "date"},
                                      "lines": {"type": "array", "minItems": 2, "items": {
                                          "type": "object", "properties": {"sku": {"type": "string"}},
                                          "required": ["sku"], "additionalProperties": False}}},
     "required": ["qty", "price", "until", "lines"], "additionalProperties": False},
    {"type": "object", "properties": {"queue": {"type": "string", "enum": ["billing", "shipping"]},
                                      "flag": {"const": True}, "note": {"anyOf": [{"type": "null"}, {"type": "string",
                                                                                                      "minLength": 12}]}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_samples_validate_against_their_schema(schema):
    value = sample_for(schema)
    assert validation_errors(value, schema) == []
    assert sample_for(schema) == value  # deterministic


def test_pattern_builder_and_errors_name_the_place():
    assert _from_pattern("^INV-[0-9]{6}$") == "INV-000000"
    assert _from_pattern("^(a|b)$") is None  # too clever: the caller falls back and says so
    errors = validation_errors({"qty": "many"}, SCHEMAS[2])
    assert any(e.startswith("at the top level:") and "'price' is a required property" in e for e in errors)
    assert "at /qty: 'many' is not of type 'integer'" in errors
    assert sample_for(None) == {} and validation_errors({}, None) == []
    assert validation_errors("x", {"type": "string", "pattern": "("})  # a broken schema is reported, not raised


# --- recommendation ---------------------------------------------------------------------------------------


def test_no_threads_means_no_recommendation():
    rec = recommend([], source="assistant")
    assert rec.mode == "" and "No imported threads" in rec.reason
    assert rec.evidence == {"thread_count": 0, "source": "assistant"}


def test_mostly_single_turn_threads_recommend_stateless_without_storage():
    rec = recommend([stat(1)] * 45 + [stat(3)] * 5, source="flow")
    assert rec.mode == FlowMode.STATELESS and rec.store is False
    assert rec.evidence["single_turn_share"] == 0.9
    assert "90% of 50 threads are a single question" in rec.reason


def test_threads_outliving_response_retention_recommend_a_conversation():
    rec = recommend([stat(1)] * 10 + [stat(6, days=2)] * 30 + [stat(8, days=45)] * 10, source="flow")
    assert rec.mode == FlowMode.CONVERSATION
    assert rec.evidence["long_lived_share"] == 0.25
    assert "more than 30 days" in rec.reason and rec.store is True


def test_threads_resumed_days_later_recommend_a_conversation():
    rec = recommend([stat(4, days=0.2)] * 30 + [stat(4, days=3)] * 10, source="flow")
    assert rec.mode == FlowMode.CONVERSATION
    assert "picked up again more than a day later" in rec.reason


def test_short_multi_turn_threads_recommend_previous_response_chaining():
    rec = recommend([stat(1)] * 10 + [stat(5, days=0.05)] * 30, source="assistant")
    assert rec.mode == FlowMode.PREVIOUS_RESPONSE and rec.store is True
    assert rec.evidence["turns"]["median"] == 5
    assert rec.truncation == "disabled"


def test_large_threads_suggest_truncation_and_few_threads_say_so():
    rec = recommend([stat(6, tokens=90_000, days=0.1)] * 5, source="flow")
    assert rec.truncation == "auto" and "truncation is set to auto" in rec.reason
    assert rec.evidence["confidence"] == "low" and "Only 5 threads" in rec.reason


def test_percentile_is_nearest_rank():
    assert percentile([], 50) == 0
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile(list(range(1, 11)), 90) == 9


# --- tool identity, resources, ETags ------------------------------------------------------------------------


def test_tool_keys_hashes_and_resources():
    fn = {"type": "function", "name": "get_invoice", "parameters": {"type": "object"}}
    assert toolset.tool_key(fn) == "function:get_invoice"
    assert toolset.tool_key({"type": "function", "function": {"name": "x"}}) == "function:x"
    assert toolset.tool_key({"type": "retrieval"}) == "file_search"
    assert toolset.tool_hash(fn) == toolset.tool_hash(dict(reversed(list(fn.items()))))
    assert toolset.tool_hash(fn) != toolset.tool_hash({**fn, "strict": False})
    assert toolset.resources_of({"type": "file_search", "vector_store_ids": ["vs_1"]}) == [("vector_store", "vs_1")]
    assert toolset.resources_of({"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["f1"]}}) == [
        ("file", "f1")]
    assert toolset.resources_of({"type": "code_interpreter", "container": "cntr_1"}) == [("container", "cntr_1")]


@pytest.mark.parametrize(("obj", "state"), [
    ({"status": "completed", "file_counts": {"completed": 3}}, ResourceState.EXISTS),
    ({"status": "expired", "name": "handbook"}, ResourceState.EXPIRED),
    ({"status": "in_progress", "file_counts": {"in_progress": 2}}, ResourceState.NOT_READY),
])
def test_vector_store_states(obj, state):
    assert classify_vector_store(obj)[0] == state


def test_etag_comparison():
    etag = compute_etag({"a": 1})
    assert etag.startswith('"') and etag == compute_etag({"a": 1}) != compute_etag({"a": 2})
    assert etag_matches(etag, etag) and etag_matches(f'W/{etag}', etag) and etag_matches(f'"x", {etag}', etag)
    assert etag_matches("*", etag)
    assert not etag_matches(None, etag) and not etag_matches('"other"', etag) and not etag_matches(etag[1:-1], etag)


# --- code generation --------------------------------------------------------------------------------------

CONFIG = {
    "model": "gpt-4o",
    "instructions": "Help with invoices.",
    "tools": [
        {"type": "function", "name": "get-invoice", "description": 'Fetch """ one', "strict": False,
         "parameters": {"type": "object", "properties": {"invoice_id": {"type": "string"}}}},
        {"type": "function", "name": "class", "parameters": {}},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
    ],
    "input": "never served",
}


@pytest.mark.parametrize("mode", FlowMode.values)
def test_generated_loop_is_valid_python_for_every_mode(mode):
    source = tool_loop(config=CONFIG, mode=mode, assistant_name='Billing "EU"', flow_slug="billing-web",
                       truncation="auto", store=mode != "stateless")
    compile(source, "loop.py", "exec")
    assert "def get_invoice(**arguments" in source and '"get-invoice": get_invoice' in source
    assert "def tool_class(" in source  # a keyword never becomes a function name
    assert "never served" not in source and '"truncation": "auto"' in source
    marker = {"stateless": "input=items", "conversation": "conversation=conversation_id",
              "previous_response": '"previous_response_id": previous_response_id'}[mode]
    assert marker in source


def test_python_names_are_unique_identifiers():
    taken: set[str] = set()
    assert [python_name(n, taken) for n in ["a-b", "a_b", "1x", "answer"]] == ["a_b", "a_b_2", "tool_1x", "tool_answer"]
