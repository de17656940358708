"""Strict-mode lint and fixes."""

from __future__ import annotations

import copy

import pytest

from migrator.tools.conversion.strict import fix_schema, is_strict_compatible, lint_schema

WHERE = "/tools/0/parameters"


def codes(schema):
    return {(f.code, f.pointer) for f in lint_schema(schema, where=WHERE)}


def test_compatible_schema_has_no_findings():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": False}
    assert lint_schema(schema, where=WHERE) == []
    assert fix_schema(schema) == schema


def test_missing_additional_properties_and_required_are_reported_with_pointers_and_fixed():
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    found = codes(schema)
    assert ("additional_properties", f"{WHERE}/additionalProperties") in found
    assert ("not_required", f"{WHERE}/properties/b") in found
    fixed = fix_schema(schema)
    assert fixed["additionalProperties"] is False
    assert fixed["required"] == ["a", "b"]
    assert fixed["properties"]["b"]["type"] == ["integer", "null"]  # optional → nullable union
    assert fixed["properties"]["a"] == {"type": "string"}
    assert is_strict_compatible(fixed)


def test_findings_explain_and_propose():
    schema = {"type": "object", "properties": {"b": {"type": "integer"}}}
    finding = next(f for f in lint_schema(schema, where=WHERE) if f.code == "not_required")
    assert "required" in finding.message and "null" in finding.message
    assert finding.fix and finding.fixable and finding.schema_pointer == WHERE and finding.kind == "strict"


def test_nested_objects_and_arrays_are_fixed():
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}}}},
        "required": ["items"]}
    assert ("additional_properties", f"{WHERE}/properties/items/items/additionalProperties") in codes(schema)
    fixed = fix_schema(schema)
    inner = fixed["properties"]["items"]["items"]
    assert inner["additionalProperties"] is False and inner["required"] == ["sku", "qty"]
    assert is_strict_compatible(fixed)


@pytest.mark.parametrize(
    ("prop", "nullable"),
    [
        ({"type": "string", "enum": ["a", "b"]}, {"type": ["string", "null"], "enum": ["a", "b", None]}),
        ({"enum": ["a"]}, {"enum": ["a", None]}),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]},
         {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}),
        ({"type": ["string", "null"]}, {"type": ["string", "null"]}),
        ({"$ref": "#/$defs/Thing"}, {"anyOf": [{"$ref": "#/$defs/Thing"}, {"type": "null"}]}),
    ],
)
def test_optional_fields_become_nullable_unions(prop, nullable):
    schema = {"type": "object", "properties": {"p": prop}, "$defs": {"Thing": {
        "type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"], "additionalProperties": False}}}
    fixed = fix_schema(schema)
    assert fixed["properties"]["p"] == nullable
    assert is_strict_compatible(fixed)


def test_unsupported_keywords_are_removed_and_their_meaning_kept_in_the_description():
    schema = {"type": "object", "properties": {
        "branch": {"type": "string", "description": "Branch", "default": "main"},
        "name": {"type": "string", "minLength": 3, "maxLength": 20, "examples": ["a", "b"]},
        "site": {"type": "string", "format": "uri"},
        "when": {"type": "string", "format": "date"},
    }, "required": ["branch", "name", "site", "when"], "additionalProperties": False}
    found = codes(schema)
    assert ("unsupported_keyword", f"{WHERE}/properties/branch/default") in found
    assert ("unsupported_keyword", f"{WHERE}/properties/name/minLength") in found
    assert ("unsupported_format", f"{WHERE}/properties/site/format") in found
    assert not any(p.endswith("when/format") for _, p in found)  # date is supported
    fixed = fix_schema(schema)
    assert fixed["properties"]["branch"] == {"type": "string", "description": 'Branch Default: "main".'}
    assert "At least 3 characters." in fixed["properties"]["name"]["description"]
    assert "Examples:" in fixed["properties"]["name"]["description"]
    assert fixed["properties"]["site"] == {"type": "string", "description": "Format: uri."}
    assert fixed["properties"]["when"]["format"] == "date"
    assert is_strict_compatible(fixed)


def test_defs_refs_and_allof_are_handled():
    """The agency-swarm (pydantic v1-era) shape: allOf:[{$ref}] with siblings, const, title, default null."""
    schema = {
        "$defs": {"recipient": {"const": "AgentCreator", "title": "recipient"}},
        "properties": {
            "recipient": {"allOf": [{"$ref": "#/$defs/recipient"}], "description": "Who"},
            "files": {"default": None, "items": {"type": "string"}, "type": "array", "title": "Files"},
        },
        "required": ["recipient"],
        "type": "object",
    }
    found = codes(schema)
    assert ("all_of", f"{WHERE}/properties/recipient/allOf") in found
    assert ("not_required", f"{WHERE}/properties/files") in found
    fixed = fix_schema(schema)
    assert fixed["properties"]["recipient"] == {"description": "Who", "const": "AgentCreator", "title": "recipient"}
    assert fixed["properties"]["files"]["type"] == ["array", "null"] and "default" not in fixed["properties"]["files"]
    assert is_strict_compatible(fixed)


def test_ref_with_siblings_is_inlined():
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/A", "description": "an A"}},
              "required": ["a"], "additionalProperties": False,
              "$defs": {"A": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"],
                              "additionalProperties": False}}}
    assert ("ref_siblings", f"{WHERE}/properties/a") in codes(schema)
    fixed = fix_schema(schema)
    assert fixed["properties"]["a"]["type"] == "object" and fixed["properties"]["a"]["description"] == "an A"
    assert is_strict_compatible(fixed)


def test_recursive_ref_is_supported():
    schema = {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}},
              "required": ["children"], "additionalProperties": False}
    assert lint_schema(schema, where=WHERE) == []


def test_root_anyof_cannot_be_fixed():
    schema = {"anyOf": [{"type": "object", "properties": {}}, {"type": "string"}]}
    findings = lint_schema(schema, where=WHERE)
    root = next(f for f in findings if f.code == "root_anyof")
    assert root.pointer == WHERE and not root.fixable
    assert not is_strict_compatible(fix_schema(schema))


def test_nested_one_of_becomes_any_of_and_not_is_dropped():
    schema = {"type": "object", "properties": {"v": {"oneOf": [{"type": "string"}, {"type": "integer"}],
                                                      "not": {"const": 0}}},
              "required": ["v"], "additionalProperties": False}
    found = codes(schema)
    assert ("one_of", f"{WHERE}/properties/v/oneOf") in found and ("unsupported_keyword", f"{WHERE}/properties/v/not") in found
    fixed = fix_schema(schema)
    assert fixed["properties"]["v"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert is_strict_compatible(fixed)


def test_free_form_objects_are_closed_and_the_message_says_so():
    schema = {"type": "object", "properties": {"extra": {"type": "object", "additionalProperties": True}},
              "required": ["extra"], "additionalProperties": False}
    finding = next(f for f in lint_schema(schema, where=WHERE) if f.code == "additional_properties")
    assert "free-form" in finding.message
    assert fix_schema(schema)["properties"]["extra"] == {"type": "object", "additionalProperties": False,
                                                         "properties": {}, "required": []}


def test_untyped_values_and_tuple_arrays_are_not_fixable():
    schema = {"type": "object", "properties": {"any": {"description": "anything"},
                                               "pair": {"type": "array", "items": [{"type": "string"}]}},
              "required": ["any", "pair"], "additionalProperties": False}
    found = {f.code: f for f in lint_schema(schema, where=WHERE)}
    assert not found["missing_type"].fixable and not found["array_items"].fixable
    assert not is_strict_compatible(fix_schema(schema))


def test_openapi_nullable_and_missing_root_type():
    schema = {"properties": {"a": {"type": "string", "nullable": True}}}
    found = codes(schema)
    assert ("missing_type", WHERE) in found and ("nullable", f"{WHERE}/properties/a/nullable") in found
    fixed = fix_schema(schema)
    assert fixed["type"] == "object" and fixed["properties"]["a"] == {"type": ["string", "null"]}
    assert is_strict_compatible(fixed)


def test_empty_schema_becomes_an_empty_object():
    assert fix_schema({}) == {"type": "object", "properties": {}, "required": [], "additionalProperties": False}


def test_size_limits():
    wide = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5001)}}
    assert any(f.code == "too_large" for f in lint_schema(wide, where=WHERE))
    deep: dict = {"type": "string"}
    for _ in range(12):
        deep = {"type": "object", "properties": {"d": deep}, "required": ["d"], "additionalProperties": False}
    assert any(f.code == "too_deep" for f in lint_schema(deep, where=WHERE))


def test_fix_never_modifies_its_input():
    schema = {"type": "object", "properties": {"a": {"type": "string", "default": "x"}}}
    before = copy.deepcopy(schema)
    fix_schema(schema)
    assert schema == before


def test_pointer_tokens_are_escaped():
    schema = {"type": "object", "properties": {"a/b": {"type": "string"}, "c~d": {"type": "string"}}}
    pointers = {f.pointer for f in lint_schema(schema, where=WHERE) if f.code == "not_required"}
    assert pointers == {f"{WHERE}/properties/a~1b", f"{WHERE}/properties/c~0d"}
