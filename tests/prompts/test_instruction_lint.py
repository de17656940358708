"""Legacy-instruction lint: each finding carries the offending span."""

from __future__ import annotations

import pytest

from migrator.prompts.conversion.instructions import lint_instructions

FILE_SEARCH = [{"type": "file_search", "vector_store_ids": ["vs_1"]}]


def found(text, tools=()):
    return [(f.code, f.text) for f in lint_instructions(text, tools=list(tools))]


@pytest.mark.parametrize(
    ("text", "code", "span_text"),
    [
        ("Keep the whole thread in mind.", "thread_talk", "thread"),
        ("Use the thread_id to look up history.", "thread_talk", "thread_id"),
        ("Report the run status when asked.", "run_talk", "run status"),
        ("Within this run, call tools once.", "run_talk", "this run"),
        ("You are built on the Assistants API.", "assistants_api", "Assistants API"),
        ("Use the retrieval tool to find answers.", "retrieval_tool", "the retrieval tool"),
        ("Use msearch to look things up.", "retrieval_tool", "msearch"),
        ("Cite like 【4:0†source】 after each claim.", "citation_markers", "【4:0†source】"),
        ("Keep the citation markers in your answer.", "citation_markers", "citation markers"),
        ("Use the knowledge in the attached files.", "attached_files", "attached files"),
        ("Use the provided portfolio CSV file.", "attached_files", "provided portfolio CSV"),
        ("Read the attachments first.", "attached_files", "attachments"),
    ],
)
def test_legacy_wording_is_found_with_its_span(text, code, span_text):
    findings = [f for f in lint_instructions(text, tools=FILE_SEARCH) if f.code == code]
    assert findings, found(text, FILE_SEARCH)
    finding = findings[0]
    start, end = finding.span
    assert text[start:end] == span_text == finding.text
    assert finding.kind == "instructions" and finding.message and finding.pointer == "/instructions"


def test_tools_the_assistant_does_not_have():
    text = "Use file search to answer. Run code with the code interpreter. Always call validate_local(name) first."
    tools = [{"type": "function", "name": "save_slot"}]
    codes = found(text, tools)
    assert ("missing_tool", "file search") in codes
    assert ("missing_tool", "code interpreter") in codes
    assert ("missing_tool", "validate_local") in codes


def test_tools_the_assistant_has_are_not_flagged():
    text = "Use file search, then call `save_slot(name, value)` and the code interpreter."
    tools = [{"type": "function", "name": "save_slot"}, {"type": "code_interpreter", "container": {"type": "auto"}},
             *FILE_SEARCH]
    assert found(text, tools) == []


def test_clean_instructions_have_no_findings():
    assert found("You are a friendly tutor. Answer in two sentences and ask one follow-up question.") == []
    assert lint_instructions(None, tools=[]) == [] and lint_instructions("", tools=[]) == []


def test_findings_are_ordered_by_position():
    text = "Attachments are in the thread. Use the retrieval tool."
    spans = [f.span[0] for f in lint_instructions(text, tools=FILE_SEARCH)]
    assert spans == sorted(spans)
