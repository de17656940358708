"""Pure logic of the tools step: sample generation, tool identity and resources, code generation."""

from __future__ import annotations

import pytest

from migrator.core.status import FlowMode
from migrator.tools import toolset
from migrator.tools.codegen import python_name, tool_loop
from migrator.tools.models import ResourceState
from migrator.tools.samples import _from_pattern, sample_for, validation_errors
from migrator.tools.tooltest import classify_vector_store

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


# --- tool identity and resources ------------------------------------------------------------------------------


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
