"""Conversion of every tool and format shape in the migration map (pure; no database, no network)."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from openai.types.responses.tool_param import ToolParam
from pydantic import TypeAdapter

from migrator.prompts.conversion import LEGACY_ID_KEY, convert, validate_config
from migrator.tools.conversion.convert import convert_tool, convert_tool_choice

# Conversion asks the one model catalogue, which merges the /models lists stored in the database.
pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)
PARAMS = TypeAdapter(ResponseCreateParamsNonStreaming)
TOOL = TypeAdapter(ToolParam)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


def assistant(**fields):
    base = {"id": "asst_abc123", "object": "assistant", "model": "gpt-5.5", "instructions": "Be helpful."}
    base.update(fields)
    return base


def sdk_valid(kwargs: dict) -> None:
    """The openai SDK's own request types accept the kwargs (tools checked one by one: the params type
    declares them as a lazily validated Iterable)."""
    PARAMS.validate_python({**kwargs, "input": "hi"})
    for tool in kwargs.get("tools", []):
        TOOL.validate_python(tool)
    assert validate_config(kwargs) == []


def entry(result, field):
    return next(e for e in result.ledger if e.field == field)


def test_minimal_assistant_converts_with_explicit_defaults():
    result = convert(assistant(), today=TODAY)
    assert result.ok
    assert result.kwargs == {
        "model": "gpt-5.5",
        "instructions": "Be helpful.",
        "metadata": {LEGACY_ID_KEY: "asst_abc123"},
        "truncation": "auto",
        "store": True,
    }
    sdk_valid(result.kwargs)
    assert entry(result, "instructions").outcome == "transferred"
    assert entry(result, "id").target == f"/metadata/{LEGACY_ID_KEY}"


def test_function_tool_is_flattened_with_explicit_strict():
    result = convert(assistant(tools=[WEATHER]), today=TODAY)
    tool = result.kwargs["tools"][0]
    assert tool == {"type": "function", "name": "get_weather", "description": "Weather for a city",
                    "parameters": WEATHER["function"]["parameters"], "strict": True}
    assert result.kwargs["parallel_tool_calls"] is True
    assert entry(result, "tools[0]").outcome == "changed"
    assert entry(result, "tools[0].function.strict").outcome == "changed"  # was unset; now explicit
    sdk_valid(result.kwargs)


def test_non_strict_schema_keeps_original_with_strict_false_and_asks_for_a_decision():
    loose = copy.deepcopy(WEATHER)
    loose["function"]["parameters"] = {"type": "object", "properties": {"city": {"type": "string"}}}
    result = convert(assistant(tools=[loose]), today=TODAY)
    tool = result.kwargs["tools"][0]
    assert tool["strict"] is False and tool["parameters"] == loose["function"]["parameters"]
    assert entry(result, "tools[0].function.strict").outcome == "needs_decision"
    review = result.schemas[0]
    assert review.pointer == "/tools/0/parameters" and not review.compatible and review.fixable
    assert review.fixed["required"] == ["city"] and review.fixed["properties"]["city"]["type"] == ["string", "null"]
    assert result.strict_choices()["/tools/0/parameters"]["choice"] == "original"
    sdk_valid(result.kwargs)


def test_explicit_strict_false_is_respected_even_when_compatible():
    tool = copy.deepcopy(WEATHER)
    tool["function"]["strict"] = False
    result = convert(assistant(tools=[tool]), today=TODAY)
    assert result.kwargs["tools"][0]["strict"] is False
    assert entry(result, "tools[0].function.strict").outcome == "transferred"


def test_function_without_parameters_gets_an_empty_object_schema():
    result = convert(assistant(tools=[{"type": "function", "function": {"name": "ping"}}]), today=TODAY)
    tool = result.kwargs["tools"][0]
    assert tool["parameters"] == {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    assert tool["strict"] is True
    sdk_valid(result.kwargs)


def test_flat_responses_style_function_without_type_is_read_as_function():
    flat = {"name": "lookup", "description": "d", "strict": True,
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"],
                           "additionalProperties": False}}
    converted = convert_tool(flat, tool_resources={})
    assert converted.new["type"] == "function" and converted.new["name"] == "lookup"
    assert converted.ledger[0].outcome == "changed"


def test_misplaced_required_on_function_is_dropped_with_a_hint():
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
            "required": ["x"]}
    converted = convert_tool(tool, tool_resources={})
    assert converted.new is not None
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}},
                                             "required": ["x"]}}
    converted = convert_tool(tool, tool_resources={})
    dropped = [e for e in converted.ledger if e.field == "tools[0].function.required"]
    assert dropped and dropped[0].outcome == "dropped" and "parameters.required" in dropped[0].reason


def test_file_search_takes_vector_stores_from_tool_resources_and_maps_the_ranker():
    tool = {"type": "file_search", "file_search": {"max_num_results": 8, "ranking_options": {
        "ranker": "default_2024_08_21", "score_threshold": 0.4}}}
    result = convert(assistant(tools=[tool], tool_resources={"file_search": {"vector_store_ids": ["vs_one"]}}),
                     today=TODAY)
    assert result.kwargs["tools"] == [{"type": "file_search", "vector_store_ids": ["vs_one"], "max_num_results": 8,
                                       "ranking_options": {"ranker": "auto", "score_threshold": 0.4}}]
    ranker = entry(result, "tools[0].file_search.ranking_options.ranker")
    assert ranker.outcome == "changed" and ranker.before == "default_2024_08_21" and ranker.after == "auto"
    sdk_valid(result.kwargs)


def test_file_search_null_options_and_null_code_interpreter_resources():
    tool = {"type": "file_search", "file_search": {"max_num_results": None, "ranking_options": {
        "score_threshold": 0.0, "ranker": "auto"}}}
    result = convert(assistant(tools=[tool], tool_resources={"code_interpreter": None, "file_search": {
        "vector_store_ids": ["vs_x"]}}), today=TODAY)
    assert result.kwargs["tools"][0] == {"type": "file_search", "vector_store_ids": ["vs_x"],
                                         "ranking_options": {"ranker": "auto", "score_threshold": 0.0}}
    sdk_valid(result.kwargs)


def test_file_search_without_store_warns():
    result = convert(assistant(tools=[{"type": "file_search"}]), today=TODAY)
    assert result.kwargs["tools"] == [{"type": "file_search", "vector_store_ids": []}]
    assert any(f.code == "no_vector_store" for f in result.findings)
    sdk_valid(result.kwargs)


def test_inline_vector_store_helper_needs_a_decision():
    resources = {"file_search": {"vector_stores": [{"file_ids": ["file-1"]}]}}
    result = convert(assistant(tools=[{"type": "file_search"}], tool_resources=resources), today=TODAY)
    assert entry(result, "tool_resources.file_search.vector_stores").outcome == "needs_decision"


def test_responses_style_file_search_with_ids_on_the_tool_is_merged():
    result = convert(assistant(tools=[{"type": "file_search", "vector_store_ids": ["vs_b"]}],
                               tool_resources={"file_search": {"vector_store_ids": ["vs_a"]}}), today=TODAY)
    assert result.kwargs["tools"][0]["vector_store_ids"] == ["vs_a", "vs_b"]


def test_code_interpreter_gets_an_auto_container_with_the_files():
    result = convert(assistant(tools=[{"type": "code_interpreter"}],
                               tool_resources={"code_interpreter": {"file_ids": ["file-a", "file-b"]}}), today=TODAY)
    assert result.kwargs["tools"] == [{"type": "code_interpreter",
                                       "container": {"type": "auto", "file_ids": ["file-a", "file-b"]}}]
    assert entry(result, "tool_resources.code_interpreter.file_ids").target == "/tools/0/container/file_ids"
    sdk_valid(result.kwargs)


def test_v1_retrieval_becomes_file_search_and_v1_file_ids_go_to_the_container():
    result = convert(assistant(tools=[{"type": "code_interpreter"}, {"type": "retrieval"}],
                               file_ids=["file-v1"]), today=TODAY)
    tools = result.kwargs["tools"]
    assert tools[0] == {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-v1"]}}
    assert tools[1] == {"type": "file_search", "vector_store_ids": []}
    assert entry(result, "tools[1]").outcome == "changed" and "retrieval" in entry(result, "tools[1]").reason
    sdk_valid(result.kwargs)


def test_retrieval_alone_with_v1_files_asks_for_a_vector_store():
    result = convert(assistant(tools=[{"type": "retrieval"}], file_ids=["file-1"]), today=TODAY)
    assert entry(result, "file_ids").outcome == "needs_decision"


def test_retrieval_and_file_search_merge_into_one_tool():
    result = convert(assistant(tools=[{"type": "retrieval"}, {"type": "file_search"}],
                               tool_resources={"file_search": {"vector_store_ids": ["vs_1"]}}), today=TODAY)
    assert [t["type"] for t in result.kwargs["tools"]] == ["file_search"]
    assert entry(result, "tools[1]").target == "/tools/0"


def test_tool_pointers_follow_drops_and_merges():
    loose = {"type": "function", "function": {"name": "g", "parameters": {"type": "object", "properties": {
        "a": {"type": "string"}}}}}
    result = convert(assistant(tools=[{"type": "action", "id": "x"}, {"type": "file_search"}, loose]), today=TODAY)
    assert [t["type"] for t in result.kwargs["tools"]] == ["file_search", "function"]
    assert result.schemas[0].pointer == "/tools/1/parameters"
    assert all(f.schema_pointer == "/tools/1/parameters" for f in result.findings if f.kind == "strict")
    assert entry(result, "tools[0]").outcome == "dropped"


def test_responses_only_tool_needs_a_decision():
    result = convert(assistant(tools=[{"type": "web_search_preview"}]), today=TODAY)
    assert result.kwargs["tools"] == [{"type": "web_search_preview"}]
    assert entry(result, "tools[0]").outcome == "needs_decision"
    sdk_valid(result.kwargs)


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ("auto", None),
        ({"type": "text"}, {"format": {"type": "text"}}),
        ({"type": "json_object"}, {"format": {"type": "json_object"}}),
        (
            {"type": "json_schema", "json_schema": {"name": "answer", "description": "An answer", "strict": True,
                                                    "schema": {"type": "object", "properties": {
                                                        "text": {"type": "string"}}, "required": ["text"],
                                                        "additionalProperties": False}}},
            {"format": {"type": "json_schema", "name": "answer", "schema": {
                "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
                "additionalProperties": False}, "strict": True, "description": "An answer"}},
        ),
    ],
)
def test_response_format_moves_to_text_format(response_format, expected):
    result = convert(assistant(instructions="Answer in JSON.", response_format=response_format), today=TODAY)
    assert result.kwargs.get("text") == expected
    sdk_valid(result.kwargs)


def test_json_schema_format_that_is_not_strict_compatible_is_reviewed():
    fmt = {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object", "properties": {
        "n": {"type": "integer", "default": 3}}}}}
    result = convert(assistant(response_format=fmt), today=TODAY)
    assert result.kwargs["text"]["format"]["strict"] is False
    review = result.schemas[0]
    assert review.pointer == "/text/format/schema"
    assert "default" not in review.fixed["properties"]["n"] and "Default: 3." in review.fixed["properties"]["n"][
        "description"]


def test_json_mode_without_the_word_json_is_flagged():
    result = convert(assistant(instructions="Be terse.", response_format={"type": "json_object"}), today=TODAY)
    assert any(f.code == "json_word" and f.severity == "error" for f in result.findings)


@pytest.mark.parametrize("effort", ["none", "minimal", "low", "medium", "high", "xhigh", "max"])
def test_reasoning_effort_moves_to_reasoning(effort):
    result = convert(assistant(reasoning_effort=effort), today=TODAY)
    assert result.kwargs["reasoning"] == {"effort": effort}
    sdk_valid(result.kwargs)


def test_null_reasoning_effort_is_dropped():
    result = convert(assistant(reasoning_effort=None), today=TODAY)
    assert "reasoning" not in result.kwargs and entry(result, "reasoning_effort").outcome == "dropped"


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "function", "name": "get_weather"}),
        ({"type": "file_search"}, {"type": "file_search"}),
        ({"type": "retrieval"}, {"type": "file_search"}),
    ],
)
def test_tool_choice_shapes(choice, expected):
    tools = [{"type": "function", "name": "get_weather"}, {"type": "file_search", "vector_store_ids": []}]
    new, ledger, errors = convert_tool_choice(choice, tools=tools)
    assert not errors and new == expected and ledger[0].target == "/tool_choice"


def test_tool_choice_forcing_a_missing_function_is_an_error():
    result = convert(assistant(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}}),
                     today=TODAY)
    assert [e.field for e in result.errors] == ["tool_choice.function.name"]


def test_tool_choice_and_parallel_tool_calls_transfer():
    result = convert(assistant(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}},
                               parallel_tool_calls=False), today=TODAY)
    assert result.kwargs["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert result.kwargs["parallel_tool_calls"] is False
    sdk_valid(result.kwargs)


def test_retired_model_is_replaced_by_its_successor_and_says_so():
    result = convert(assistant(model="gpt-4-1106-preview"), today=TODAY)
    assert result.kwargs["model"] == "gpt-5.6-sol"
    model = entry(result, "model")
    assert model.outcome == "changed" and "shut down on 2026-10-23" in model.reason and "gpt-5.6-sol" in model.reason


def test_retiring_model_is_kept_with_a_warning():
    result = convert(assistant(model="gpt-4o"), today=TODAY)
    assert result.kwargs["model"] == "gpt-4o"
    assert any(f.code == "model_retiring" for f in result.findings)


def test_unknown_and_placeholder_models_need_a_decision():
    assert entry(convert(assistant(model="my-azure-deployment"), today=TODAY), "model").outcome == "needs_decision"
    result = convert(assistant(model="<env:OPENAI_MODEL>"), today=TODAY)
    assert entry(result, "model").outcome == "needs_decision"
    assert any(f.code == "placeholder" and f.pointer == "/model" for f in result.findings)


def test_metadata_carries_the_legacy_id_within_limits():
    source = {f"k{i}": "v" for i in range(20)}
    source["nested"] = {"memory": {"type": "naive"}}
    source["x" * 70] = "too long a key"
    source["big"] = "y" * 600
    result = convert(assistant(metadata=source), today=TODAY)
    metadata = result.kwargs["metadata"]
    assert metadata[LEGACY_ID_KEY] == "asst_abc123"
    assert len(metadata) == 16 and all(len(k) <= 64 and len(v) <= 512 for k, v in metadata.items())
    assert entry(result, "metadata.k15").outcome == "dropped"
    assert entry(result, "metadata.big").outcome == "dropped"
    assert entry(result, "metadata." + "x" * 70).outcome == "dropped"
    sdk_valid(result.kwargs)


def test_non_string_metadata_is_sent_as_json():
    result = convert(assistant(metadata={"memory": {"type": "naive"}, "n": 1}), today=TODAY)
    assert result.kwargs["metadata"]["memory"] == '{"type":"naive"}'
    assert entry(result, "metadata.memory").outcome == "changed"


def test_corpus_wrapper_and_update_id_are_read():
    wrapped = {"source": {"assistant_id": "asst_from_source"}, "assistant": {"model": "gpt-5.5"}}
    result = convert(wrapped, today=TODAY)
    assert result.kwargs["metadata"] == {LEGACY_ID_KEY: "asst_from_source"}


def test_name_description_and_unknown_keys_are_dropped_with_reasons():
    result = convert(assistant(name="Bot", description="Helps", language="kr", extra_body={"x": 1}), today=TODAY)
    assert entry(result, "name").outcome == "dropped" and "kept in migrator" in entry(result, "name").reason
    assert "not an Assistants API field" in entry(result, "language").reason
    assert entry(result, "extra_body").outcome == "dropped"


def test_description_without_instructions_needs_a_decision():
    result = convert({"model": "gpt-5.5", "description": "You are a pirate."}, today=TODAY)
    assert "instructions" not in result.kwargs
    assert entry(result, "instructions").outcome == "needs_decision"


def test_truncation_strategy_and_max_tokens():
    result = convert(assistant(truncation_strategy={"type": "last_messages", "last_messages": 5},
                               max_completion_tokens=500, max_prompt_tokens=1000), today=TODAY)
    assert result.kwargs["truncation"] == "auto" and result.kwargs["max_output_tokens"] == 500
    assert entry(result, "truncation_strategy").outcome == "needs_decision"
    assert entry(result, "max_prompt_tokens").outcome == "dropped"
    sdk_valid(result.kwargs)


def test_resource_without_its_tool():
    result = convert(assistant(tool_resources={"file_search": {"vector_store_ids": ["vs_1"]}}), today=TODAY)
    assert "tools" not in result.kwargs
    assert entry(result, "tool_resources.file_search").outcome == "needs_decision"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model": None}, "model"),
        ({"model": 4}, "model"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": "high"}, "top_p"),
        ({"instructions": ["a"]}, "instructions"),
        ({"tools": "code_interpreter"}, "tools"),
        ({"tools": ["code_interpreter"]}, "tools[0]"),
        ({"tools": [{"type": "function", "function": {"name": "test webhook"}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "a"}}]},
         "tools[1].function.name"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]},
         "tools[0].function.parameters"),
        ({"tools": [{"type": "file_search", "file_search": {"max_num_results": 90}}]},
         "tools[0].file_search.max_num_results"),
        ({"response_format": "json"}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
         "response_format.json_schema.name"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
         "response_format.json_schema.schema"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"metadata": ["a"]}, "metadata"),
        ({"tool_resources": "x"}, "tool_resources"),
        ({"file_ids": "file-1"}, "file_ids"),
    ],
)
def test_unconvertible_input_names_the_field(fields, field):
    result = convert(assistant(**fields), today=TODAY)
    assert not result.ok
    assert field in [e.field for e in result.errors], result.errors
    assert all(e.message for e in result.errors)


def test_non_object_input_is_rejected():
    result = convert(["not", "an", "assistant"])
    assert not result.ok and "expected a JSON object" in result.error_message()


def test_update_body_without_model_explains_what_to_do():
    result = convert({"tools": [{"type": "file_search"}]}, today=TODAY)
    assert result.errors[0].field == "model" and "update body" in result.errors[0].message


def test_kwarg_order_is_stable():
    result = convert(assistant(model="gpt-4.1", tools=[WEATHER], temperature=0.2, response_format={"type": "text"}),
                     today=TODAY)
    assert list(result.kwargs) == ["model", "instructions", "tools", "parallel_tool_calls", "text", "temperature",
                                   "metadata", "truncation", "store"]


VARIED = [
    assistant(),
    assistant(tools=[WEATHER, {"type": "code_interpreter"}], temperature=0.7, top_p=0.9),
    assistant(model="gpt-3.5-turbo", tools=[{"type": "retrieval"}], file_ids=["file-1", "file-2"]),
    assistant(model="o3-mini", reasoning_effort="high", response_format={"type": "json_schema", "json_schema": {
        "name": "r", "schema": {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}}}}),
    assistant(instructions="", tools=[{"type": "function", "function": {"name": "x", "parameters": {
        "type": "object", "properties": {"when": {"type": "string", "format": "uri"}, "obj": {
            "type": "object", "additionalProperties": True}}}}}]),
    assistant(metadata={"team": "support"}, tool_resources={"file_search": {"vector_store_ids": ["vs_z"]}},
              tools=[{"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 0.5}}}]),
    {"model": "gpt-5.4", "instructions": "x" * 1000, "tools": [{"type": "function", "function": {
        "name": f"fn_{i}", "parameters": {"type": "object", "properties": {}}}} for i in range(30)]},
]


@pytest.mark.parametrize("source", VARIED)
def test_varied_assistants_convert_to_sdk_valid_kwargs(source):
    result = convert(source, today=TODAY)
    assert result.ok, result.errors
    sdk_valid(result.kwargs)


@pytest.mark.parametrize("source", VARIED)
def test_varied_assistants_match_the_spec(source, create_response_validator):
    result = convert(source, today=TODAY)
    errors = list(create_response_validator.iter_errors({**result.kwargs, "input": "hi"}))
    assert not errors, [e.message for e in errors][:3]
