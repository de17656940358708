"""Legacy-instruction lint: wording that only made sense under the Assistants API.

Each finding carries the offending span so the review page can highlight it. The patterns are deliberately
specific (API vocabulary, citation markers, "attached files", tools the configuration does not have) so a
reviewer sees few false alarms; they are warnings to read, never automatic rewrites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from migrator.tools.conversion.types import INFO, INSTRUCTIONS, WARNING, Finding

_I = re.IGNORECASE

# (code, severity, pattern, message)
_RULES: tuple[tuple[str, str, re.Pattern[str], str], ...] = (
    (
        "thread_talk",
        WARNING,
        re.compile(r"\b(?:thread_id|threads?)\b", _I),
        "Talks about threads. Responses has conversations (or stateless calls), and the model never sees a "
        "thread; reword it as \"this conversation\" or drop it.",
    ),
    (
        "run_talk",
        WARNING,
        re.compile(
            r"\b(?:run_id|run steps?|(?:this|the current|each|every) run|runs? status|requires_action|"
            r"submit_tool_outputs|tool outputs? submission)\b",
            _I,
        ),
        "Talks about runs or run steps. A Responses call has no run; tool results come back as "
        "function_call_output items in the next call.",
    ),
    (
        "assistants_api",
        WARNING,
        re.compile(r"\b(?:assistants api|assistant_id|assistants? v[12]|openai assistant)\b", _I),
        "Names the Assistants API, which was shut down on 2026-08-26.",
    ),
    (
        "retrieval_tool",
        WARNING,
        re.compile(
            r"\b(?:(?:the\s+)?retrieval\s+(?:tool|function|feature|plugin|capability)|knowledge retrieval|"
            r"myfiles_browser|msearch|mclick)\b",
            _I,
        ),
        "Refers to the v1 retrieval tool (or its internal myfiles_browser/msearch commands). It became "
        "file_search; refer to searching the documents instead.",
    ),
    (
        "citation_markers",
        WARNING,
        re.compile(r"【[^】\n]{0,60}】|†\s*source|\b(?:citation|source) markers?\b|\bfile_citation\b|"
                   r"\bfile (?:citation|path) annotations?\b", _I),
        "Mentions Assistants-style citation markers (like 【4:0†source】). Responses returns citations as "
        "annotations on output_text and does not put these markers in the text; asking for them makes the "
        "model invent them.",
    ),
    (
        "attached_files",
        INFO,
        re.compile(
            r"\b(?:attached|uploaded|provided)\s+(?:[\w-]+\s+){0,2}?(?:files?|documents?|docs|csv|pdfs?|"
            r"spreadsheets?|knowledge)\b|\battachments?\b|\bfiles?\s+(?:that\s+)?(?:you\s+have\s+been|"
            r"you've\s+been|i\s+have|i've|the\s+user\s+has)\s+(?:given|provided|uploaded|attached)\b",
            _I,
        ),
        "Talks about attached or uploaded files. In Responses nothing is attached to the assistant: "
        "file_search reads the vector stores named in the tool, code_interpreter the files in its "
        "container, and per-message files arrive as input_file parts. Check the wording still fits.",
    ),
)

_CODE_INTERPRETER = re.compile(r"\bcode[ _-]?interpreter\b|\bpython tool\b", _I)
_FILE_SEARCH = re.compile(r"\bfile[ _-]?search\b|\bvector[ _-]?stores?\b", _I)
_WEB = re.compile(r"\b(?:browser tool|web browsing|browse the web|web search)\b", _I)
_IMAGE = re.compile(r"\bdall[-·\s]?e(?:\s?[23])?\b|\bimage generation tool\b", _I)
# A function named in call syntax (snake_case or camelCase followed by "("), or "the X tool/function".
_CALL_SYNTAX = re.compile(r"`?\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+(?:[A-Z][a-z0-9]+)+)`?\s*\(")
_NAMED_TOOL = re.compile(
    r"\b(?:call|use|invoke|trigger|run)\s+(?:the\s+)?[`'\"]?([A-Za-z][\w-]{2,63})[`'\"]?\s+(?:tool|function)\b",
    _I,
)
_NOT_FUNCTION_WORDS = frozenset(
    {"file_search", "code_interpreter", "web_search", "file", "search", "python", "retrieval", "same", "right",
     "appropriate", "correct", "relevant", "following", "this", "that", "provided", "available", "search_tool"}
)


def _tool_types(tools: Iterable[dict[str, Any]]) -> set[str]:
    return {t.get("type") for t in tools if isinstance(t, dict)}


def _function_names(tools: Iterable[dict[str, Any]]) -> set[str]:
    return {t.get("name") for t in tools if isinstance(t, dict) and t.get("type") == "function"}


def lint_instructions(text: str | None, *, tools: list[dict[str, Any]]) -> list[Finding]:
    """Findings for legacy wording in ``text``; ``tools`` is the converted (Responses-shape) tools list."""
    if not text:
        return []
    findings: list[Finding] = []
    taken: set[tuple[str, int, int]] = set()

    def add(code: str, severity: str, match: re.Match[str], message: str, group: int = 0) -> None:
        start, end = match.span(group)
        if (code, start, end) in taken:
            return
        taken.add((code, start, end))
        findings.append(
            Finding(kind=INSTRUCTIONS, code=code, severity=severity, message=message, span=(start, end),
                    text=text[start:end], pointer="/instructions", fix="")
        )

    for code, severity, pattern, message in _RULES:
        for match in pattern.finditer(text):
            add(code, severity, match, message)

    types = _tool_types(tools)
    names = _function_names(tools)
    if "code_interpreter" not in types:
        for match in _CODE_INTERPRETER.finditer(text):
            add("missing_tool", WARNING, match, "Mentions the code interpreter, but this configuration has no "
                "code_interpreter tool. Add the tool in the editor or remove the sentence.")
    if "file_search" not in types:
        for match in _FILE_SEARCH.finditer(text):
            add("missing_tool", WARNING, match, "Mentions file search or a vector store, but this configuration "
                "has no file_search tool. Add it (with the vector store ids) or reword.")
    if not types & {"web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"}:
        for match in _WEB.finditer(text):
            add("missing_tool", INFO, match, "Mentions browsing or web search, but this configuration has no "
                "web search tool; the model cannot browse.")
    if "image_generation" not in types:
        for match in _IMAGE.finditer(text):
            add("missing_tool", INFO, match, "Mentions image generation, but this configuration has no "
                "image_generation tool.")
    lowered = {n.lower() for n in names if n}
    for pattern in (_CALL_SYNTAX, _NAMED_TOOL):
        for match in pattern.finditer(text):
            name = match.group(1)
            if name.lower() in lowered or name.lower() in _NOT_FUNCTION_WORDS:
                continue
            if pattern is _NAMED_TOOL and not ("_" in name or any(c.isupper() for c in name[1:])):
                continue  # "use the search tool": a description, not a function name
            add("missing_tool", WARNING, match, f"Refers to a function '{name}' that is not among this "
                "configuration's function tools. Add the tool, fix the name, or remove the reference.", group=1)
    findings.sort(key=lambda f: (f.span or (0, 0))[0])
    return findings
